-- Units, members and their channel accounts, dialog state and the activity log.
-- Times are UTC unix seconds; `day` is the local calendar day (YYYYMMDD) in the configured zone.

CREATE TABLE units (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    parent_code TEXT REFERENCES units(code),
    level       TEXT NOT NULL DEFAULT '',
    path        TEXT NOT NULL,            -- '/ROOT/CHILD/.../CODE/' for subtree queries
    join_code   TEXT NOT NULL UNIQUE,
    active      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX units_path ON units(path);

CREATE TABLE members (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so erased ids stay dead
    full_name   TEXT NOT NULL,
    unit_code   TEXT NOT NULL REFERENCES units(code),
    category    TEXT NOT NULL,
    locale      TEXT NOT NULL DEFAULT 'vi',
    consent_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX members_unit ON members(unit_code);

-- One person may use several apps; each app account points to the same member.
CREATE TABLE accounts (
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    reachable   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX accounts_member ON accounts(member_id);

-- Keyed by channel account, not member: people who have not registered have a dialog too.
CREATE TABLE dialogs (
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}',
    offer       TEXT,
    locale      TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (channel, external_id)
);

-- One row per participation. member_id has no foreign key on purpose: when a member erases
-- their data it is set to NULL and the row stays as an anonymous count.
CREATE TABLE activity (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER,
    unit_code   TEXT NOT NULL,
    category    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    at          INTEGER NOT NULL,
    day         INTEGER NOT NULL
);
CREATE INDEX activity_member_kind ON activity(member_id, kind);
CREATE INDEX activity_day_unit ON activity(day, unit_code);
