-- Yearly personal commitments (bản cam kết) and the periodic check-ins on each item.

CREATE TABLE commitments (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    year        INTEGER NOT NULL,
    items       TEXT NOT NULL,            -- JSON list of the item texts, 3 to 7
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (member_id, year)
);
CREATE INDEX commitments_year ON commitments(year);

-- One row per item and period ("2026-11"); a later answer for the same period replaces it.
CREATE TABLE commitment_checkins (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    year        INTEGER NOT NULL,
    period      TEXT NOT NULL,
    item        INTEGER NOT NULL,
    status      TEXT NOT NULL,            -- done | in_progress | not_yet
    note        TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    PRIMARY KEY (member_id, year, period, item)
);

-- Reminder kinds that are on unless a member turns them off (check-ins) are muted here.
CREATE TABLE reminder_optouts (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    PRIMARY KEY (member_id, kind)
);
