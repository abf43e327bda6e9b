-- Practice with spaced review, and contests with rounds, attempts, every answer and the results.

-- One FSRS card per member and practised question (bot/quiz/review.py).
CREATE TABLE practice_cards (
    member_id   INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    card        TEXT NOT NULL,            -- fsrs.Card.to_dict() as JSON
    due         INTEGER NOT NULL,         -- UTC unix seconds when it should come back
    reviews     INTEGER NOT NULL DEFAULT 0,
    lapses      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, question_id)
);
CREATE INDEX practice_cards_due ON practice_cards(member_id, due);

CREATE TABLE contests (
    id                  INTEGER PRIMARY KEY,
    title               TEXT NOT NULL,
    unit_code           TEXT NOT NULL,              -- the target subtree
    categories          TEXT NOT NULL DEFAULT '[]', -- JSON list; [] = every category
    pool                TEXT NOT NULL,              -- JSON: how the questions were chosen
    questions_per_round INTEGER NOT NULL,
    time_limit_s        INTEGER,                    -- per question; NULL = no limit
    attempts            INTEGER NOT NULL DEFAULT 1, -- allowed per round; the best counts
    tiebreak            TEXT NOT NULL,              -- all_correct | entrants
    created_by          INTEGER REFERENCES members(id) ON DELETE SET NULL,
    creator_channel     TEXT NOT NULL,              -- where the organizer gets the results
    creator_account     TEXT NOT NULL,
    request_key         TEXT NOT NULL UNIQUE,       -- launching twice creates one contest
    created_at          INTEGER NOT NULL
);

CREATE TABLE contest_rounds (
    contest_id  INTEGER NOT NULL REFERENCES contests(id),
    round       INTEGER NOT NULL,
    opens_at    INTEGER NOT NULL,
    closes_at   INTEGER NOT NULL,
    questions   TEXT NOT NULL,            -- JSON list of question ids, the same for everyone
    actual      INTEGER,                  -- the tie-break number, computed at close
    closed_at   INTEGER,                  -- ranked (contest_results written)
    notified_at INTEGER,                  -- everyone's result and the summary queued
    PRIMARY KEY (contest_id, round)
);
CREATE INDEX contest_rounds_closing ON contest_rounds(closed_at, closes_at);

-- An attempt is started when its first question is shown and counts once submitted.
CREATE TABLE contest_attempts (
    id            INTEGER PRIMARY KEY,
    contest_id    INTEGER NOT NULL,
    round         INTEGER NOT NULL,
    member_id     INTEGER REFERENCES members(id) ON DELETE SET NULL,
    number        INTEGER NOT NULL,       -- 1st, 2nd … attempt of this member in this round
    unit_code     TEXT NOT NULL,          -- the member's unit and category when entering
    category      TEXT NOT NULL,
    layout        TEXT NOT NULL,          -- JSON [[question id, [bank option index per button]]]
    started_ms    INTEGER NOT NULL,
    correct       INTEGER NOT NULL DEFAULT 0,
    prediction    INTEGER,
    submitted_ms  INTEGER,
    UNIQUE (contest_id, round, member_id, number),
    FOREIGN KEY (contest_id, round) REFERENCES contest_rounds(contest_id, round)
);
CREATE INDEX contest_attempts_submitted ON contest_attempts(contest_id, round, submitted_ms);
CREATE INDEX contest_attempts_member ON contest_attempts(member_id);

-- Every answer, kept so that results can be audited and recomputed.
CREATE TABLE contest_answers (
    attempt_id   INTEGER NOT NULL REFERENCES contest_attempts(id),
    position     INTEGER NOT NULL,
    question_id  TEXT NOT NULL,
    option       INTEGER NOT NULL,        -- the bank's option index the member chose
    correct      INTEGER NOT NULL,        -- 0 also when late (beyond the time limit)
    late         INTEGER NOT NULL DEFAULT 0,
    shown_ms     INTEGER NOT NULL,
    answered_ms  INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, position)
);

-- The final ranking of a round: one row per member (their best attempt).
CREATE TABLE contest_results (
    contest_id   INTEGER NOT NULL,
    round        INTEGER NOT NULL,
    rank         INTEGER NOT NULL,
    attempt_id   INTEGER NOT NULL,        -- written from contest_attempts in one transaction
    member_id    INTEGER REFERENCES members(id) ON DELETE SET NULL,
    unit_code    TEXT NOT NULL,
    category     TEXT NOT NULL,
    correct      INTEGER NOT NULL,
    distance     INTEGER,
    duration_ms  INTEGER NOT NULL,
    submitted_ms INTEGER NOT NULL,
    PRIMARY KEY (contest_id, round, rank)
);
CREATE INDEX contest_results_member ON contest_results(member_id, contest_id);
