-- Organizer rights over unit subtrees, and an audit trail of who changed them or asked for what.

CREATE TABLE organizers (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    unit_code   TEXT NOT NULL REFERENCES units(code),
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (member_id, unit_code)
);

-- What was done and by whom, never the content of a message or a report.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT ''
);
