-- Everything the bot pushes goes through the outbox; reminders are a schedule kept here.

-- One row per message to push. `key` makes enqueueing idempotent (kind:reference:member).
-- status: pending -> sending -> sent | failed | blocked | unknown (in flight at a crash: maybe
-- delivered, never resent automatically) | cancelled (unsubscribed before it went out).
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    member_id   INTEGER,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',     -- what it belongs to, e.g. the broadcast id
    payload     TEXT NOT NULL DEFAULT '{}',
    priority    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'pending',
    not_before  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, channel, priority DESC, not_before);
CREATE INDEX outbox_member ON outbox(member_id, kind, status);
CREATE INDEX outbox_ref ON outbox(kind, ref, status);

-- A member's reminder of one kind at a local time of day (minute of the day, 0..1439).
CREATE TABLE reminders (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    minute      INTEGER NOT NULL,
    PRIMARY KEY (member_id, kind)
);
CREATE INDEX reminders_minute ON reminders(kind, minute);

-- Small key/value state of the bot itself, e.g. when the scheduler last looked for due work.
CREATE TABLE bot_state (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

-- Reminders that fell due while the bot was down and were too old to send when it came back.
CREATE TABLE missed_reminders (
    day         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (day, kind)
);

-- An organizer's notice to a unit subtree and some member categories (all when empty).
-- The text is stored once here; each outbox row only points at it.
CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY,
    request_key TEXT NOT NULL UNIQUE,         -- one notice per confirmed preview
    unit_code   TEXT NOT NULL REFERENCES units(code),
    categories  TEXT NOT NULL DEFAULT '[]',
    text        TEXT NOT NULL,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    recipients  INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER
);
