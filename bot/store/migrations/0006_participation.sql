-- Rosters, study sessions, feedback and weekly report subscriptions.
--
-- Who an activity row counts as (activity.member_id), so that reports count people exactly:
--   > 0                      a registered member;
--   -1 … -(2^40 - 1)         a roster entry without an account (-roster.id): attendance an
--                            organizer marked for someone without a smartphone;
--   ≤ -2^40                  an erased member: a random stand-in, the same for all their rows,
--                            linked to nobody (set by /xoadulieu).
-- Rows already anonymised as NULL by earlier versions count as entries but as nobody.

-- The people a unit expects to take part (the denominator of participation rates). Phone
-- numbers are never stored: only an HMAC of the normalised number, keyed outside the database.
CREATE TABLE roster (
    id          INTEGER PRIMARY KEY,
    unit_code   TEXT NOT NULL REFERENCES units(code),
    category    TEXT NOT NULL,
    full_name   TEXT NOT NULL,
    phone_hash  TEXT NOT NULL UNIQUE,
    member_id   INTEGER UNIQUE REFERENCES members(id) ON DELETE SET NULL,
    imported_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX roster_unit ON roster(unit_code, category);

-- Study sessions (hội nghị học tập, quán triệt) and who attended.
CREATE TABLE study_sessions (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,     -- typed or in the deep link to check in
    title       TEXT NOT NULL,
    unit_code   TEXT NOT NULL REFERENCES units(code),
    starts_at   INTEGER NOT NULL,
    place       TEXT NOT NULL,
    created_by  INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE session_attendance (
    session_id  INTEGER NOT NULL REFERENCES study_sessions(id),
    person      INTEGER NOT NULL,         -- as activity.member_id above
    unit_code   TEXT NOT NULL,            -- the person's unit and category when attending
    category    TEXT NOT NULL,
    marked_by   INTEGER,                  -- the organizer who marked it; NULL: checked in
    at          INTEGER NOT NULL,
    day         INTEGER NOT NULL,         -- local day, yyyymmdd
    PRIMARY KEY (session_id, person)
);

-- An attendance counts as one participation exactly when its row is new: a second check-in,
-- or an organizer marking someone who already checked in, inserts nothing and counts nothing.
CREATE TRIGGER session_attendance_activity AFTER INSERT ON session_attendance
BEGIN
    INSERT INTO activity (member_id, unit_code, category, kind, ref, at, day)
    VALUES (NEW.person, NEW.unit_code, NEW.category, 'session_attendance',
            'session:' || NEW.session_id, NEW.at, NEW.day);
END;

-- Questions and concerns sent to organizers (/phananh).
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER REFERENCES members(id) ON DELETE CASCADE,
    unit_code   TEXT NOT NULL,
    anonymous   INTEGER NOT NULL,         -- 1: organizers do not see who sent it
    text        TEXT NOT NULL,
    status      TEXT NOT NULL,            -- open | answered | closed
    answer      TEXT NOT NULL DEFAULT '',
    answered_by INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    answered_at INTEGER
);
CREATE INDEX feedback_unit_status ON feedback(unit_code, status);

-- Organizers who get a weekly report of a unit subtree at a chosen day and time.
CREATE TABLE report_subscriptions (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    unit_code   TEXT NOT NULL REFERENCES units(code),
    weekday     INTEGER NOT NULL,         -- 0 = Monday
    minute      INTEGER NOT NULL,         -- local minute of the day
    PRIMARY KEY (member_id, unit_code)
);

-- Reports read activity by period and unit, counting people: this covers them.
CREATE INDEX activity_day_unit_member ON activity(day, unit_code, kind, category, member_id);
DROP INDEX activity_day_unit;
-- Report denominators count members per unit and category along this index.
CREATE INDEX members_unit_category ON members(unit_code, category);
