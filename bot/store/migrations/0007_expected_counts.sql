-- The denominators of participation rates, kept as counts: how many roster entries and
-- registered members each unit has per category. Counting them from the tables took ~0.5 s
-- per province report (540,000 members) and competed with reading the period's activity.
-- Triggers keep the counts exact on every insert, move and delete; rows may reach n = 0.
CREATE TABLE expected_counts (
    source      TEXT NOT NULL,            -- 'roster' | 'members'
    unit_code   TEXT NOT NULL,
    category    TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (source, unit_code, category)
) WITHOUT ROWID;

INSERT INTO expected_counts (source, unit_code, category, n)
    SELECT 'roster', unit_code, category, count(*) FROM roster GROUP BY unit_code, category;
INSERT INTO expected_counts (source, unit_code, category, n)
    SELECT 'members', unit_code, category, count(*) FROM members GROUP BY unit_code, category;

CREATE TRIGGER roster_counted AFTER INSERT ON roster
BEGIN
    INSERT INTO expected_counts VALUES ('roster', NEW.unit_code, NEW.category, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER roster_uncounted AFTER DELETE ON roster
BEGIN
    UPDATE expected_counts SET n = n - 1
        WHERE source = 'roster' AND unit_code = OLD.unit_code AND category = OLD.category;
END;
CREATE TRIGGER roster_recounted AFTER UPDATE OF unit_code, category ON roster
    WHEN OLD.unit_code IS NOT NEW.unit_code OR OLD.category IS NOT NEW.category
BEGIN
    UPDATE expected_counts SET n = n - 1
        WHERE source = 'roster' AND unit_code = OLD.unit_code AND category = OLD.category;
    INSERT INTO expected_counts VALUES ('roster', NEW.unit_code, NEW.category, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER members_counted AFTER INSERT ON members
BEGIN
    INSERT INTO expected_counts VALUES ('members', NEW.unit_code, NEW.category, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER members_uncounted AFTER DELETE ON members
BEGIN
    UPDATE expected_counts SET n = n - 1
        WHERE source = 'members' AND unit_code = OLD.unit_code AND category = OLD.category;
END;
CREATE TRIGGER members_recounted AFTER UPDATE OF unit_code, category ON members
    WHEN OLD.unit_code IS NOT NEW.unit_code OR OLD.category IS NOT NEW.category
BEGIN
    UPDATE expected_counts SET n = n - 1
        WHERE source = 'members' AND unit_code = OLD.unit_code AND category = OLD.category;
    INSERT INTO expected_counts VALUES ('members', NEW.unit_code, NEW.category, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
