-- Time logs: a submission is one message's worth of entries, voided together by a `cancel` reply
-- to its receipt; each entry remembers the line it came from.

CREATE TABLE submission (
    id                  INTEGER PRIMARY KEY,
    inbound_id          INTEGER NOT NULL UNIQUE REFERENCES inbound_message (id),
    assistant_id        INTEGER NOT NULL REFERENCES assistant (id),
    -- The receipt sent for it; a reply naming this Message-ID is about this submission.
    receipt_message_id  TEXT,
    status              TEXT NOT NULL CHECK (status IN ('logged', 'void')),
    created_at          TEXT NOT NULL,
    voided_at           TEXT
);
CREATE INDEX submission_by_receipt ON submission (receipt_message_id);

CREATE TABLE time_entry (
    id             INTEGER PRIMARY KEY,
    submission_id  INTEGER NOT NULL REFERENCES submission (id),
    engagement_id  INTEGER NOT NULL REFERENCES engagement (id),
    work_date      TEXT NOT NULL,
    minutes        INTEGER NOT NULL CHECK (minutes > 0 AND minutes <= 1440),
    description    TEXT NOT NULL,
    line_no        INTEGER NOT NULL,
    line_text      TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('logged', 'void')),
    created_at     TEXT NOT NULL,
    voided_at      TEXT
);
CREATE INDEX time_entry_by_engagement ON time_entry (engagement_id, work_date);
CREATE INDEX time_entry_by_submission ON time_entry (submission_id);

-- Months the operator has billed: no entry may be added to them.
CREATE TABLE locked_month (
    month      TEXT PRIMARY KEY, -- YYYY-MM
    locked_at  TEXT NOT NULL
);

-- A mail that expects an answer carries a random token (in its Message-ID, its Reply-To
-- plus-address and its subject); a reply found by any of them is matched to its outbox row.
ALTER TABLE outbox ADD COLUMN token TEXT;
CREATE UNIQUE INDEX outbox_by_token ON outbox (token);
