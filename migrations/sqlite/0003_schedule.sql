-- The schedule: surveys and their answers, agreement documents received by mail, and what each
-- outgoing mail is about.

-- One questionnaire sent to a client: a feedback survey (per period) or the trial review. Its
-- natural key (engagement, kind, period) is what keeps a restart or a second daemon from sending
-- the same one twice.
CREATE TABLE survey (
    id             INTEGER PRIMARY KEY,
    engagement_id  INTEGER NOT NULL REFERENCES engagement (id),
    kind           TEXT NOT NULL CHECK (kind IN ('feedback', 'trial_review')),
    -- 2026-W49 (weekly), 2027-01 (monthly), trial, or manual-TIMESTAMP (sent by the operator).
    period         TEXT NOT NULL,
    -- The questions as they were asked (JSON), so later config changes do not reword old answers.
    questions      TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    locale         TEXT NOT NULL CHECK (locale IN ('de', 'en')),
    message_id     TEXT NOT NULL,
    sent_at        TEXT NOT NULL,
    answered_at    TEXT,
    UNIQUE (engagement_id, kind, period)
);

-- The latest answer per question; a second reply overwrites what it answers again.
CREATE TABLE survey_answer (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES survey (id),
    number      INTEGER NOT NULL,
    key         TEXT NOT NULL,
    -- JSON: a number, true/false, or a string.
    value       TEXT NOT NULL,
    inbound_id  INTEGER NOT NULL REFERENCES inbound_message (id),
    answered_at TEXT NOT NULL,
    UNIQUE (survey_id, key)
);

-- A signed document that came back by mail, kept for the operator to confirm.
CREATE TABLE agreement_document (
    id            INTEGER PRIMARY KEY,
    agreement_id  INTEGER NOT NULL REFERENCES agreement (id),
    inbound_id    INTEGER NOT NULL REFERENCES inbound_message (id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    data          BLOB NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE INDEX agreement_document_by_agreement ON agreement_document (agreement_id);

-- The day the operator says an agreement was signed (`agreement sign --date`).
ALTER TABLE agreement ADD COLUMN signed_on TEXT;
-- Who has sent a `received` agreement back: one side of an agreement both sign still owes it.
ALTER TABLE agreement ADD COLUMN received_from TEXT
    CHECK (received_from IN ('client', 'assistant', 'both'));

-- What a mail is about, where a reply must find it: the survey a survey mail or its reminder asks.
ALTER TABLE outbox ADD COLUMN survey_id INTEGER REFERENCES survey (id);
CREATE INDEX outbox_by_engagement ON outbox (engagement_id);
