-- tandem's first schema. Times are UTC (RFC 3339 text in SQLite, timestamptz in PostgreSQL);
-- dates are ISO text. Every statement the code runs against these tables is portable SQL
-- ($1 placeholders, ON CONFLICT, RETURNING); only this DDL is per backend.

CREATE TABLE assistant (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    locale      TEXT NOT NULL CHECK (locale IN ('de', 'en')),
    created_at  TEXT NOT NULL
);

-- An assistant writes from one or more addresses; each address belongs to one assistant.
CREATE TABLE assistant_email (
    email         TEXT PRIMARY KEY,
    assistant_id  INTEGER NOT NULL REFERENCES assistant (id),
    position      INTEGER NOT NULL
);
CREATE INDEX assistant_email_by_assistant ON assistant_email (assistant_id);

CREATE TABLE client (
    id          INTEGER PRIMARY KEY,
    tag         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    locale      TEXT NOT NULL CHECK (locale IN ('de', 'en')),
    created_at  TEXT NOT NULL
);

CREATE TABLE contact (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES client (id),
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    role          TEXT,
    reachability  TEXT,
    UNIQUE (client_id, email)
);
CREATE INDEX contact_by_email ON contact (email);

CREATE TABLE engagement (
    id                 INTEGER PRIMARY KEY,
    assistant_id       INTEGER NOT NULL REFERENCES assistant (id),
    client_id          INTEGER NOT NULL REFERENCES client (id),
    start_date         TEXT NOT NULL,
    trial_end          TEXT NOT NULL,
    status             TEXT NOT NULL
        CHECK (status IN ('onboarding', 'trial', 'active', 'paused', 'ended')),
    hourly_rate_cents  INTEGER,
    budget_minutes     INTEGER,
    created_at         TEXT NOT NULL,
    ended_at           TEXT,
    CHECK (trial_end >= start_date)
);
CREATE INDEX engagement_by_assistant ON engagement (assistant_id);
CREATE INDEX engagement_by_client ON engagement (client_id);

CREATE TABLE agreement (
    id                 INTEGER PRIMARY KEY,
    engagement_id      INTEGER NOT NULL REFERENCES engagement (id),
    kind               TEXT NOT NULL,
    signers            TEXT NOT NULL CHECK (signers IN ('client', 'assistant', 'both')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'received', 'signed', 'waived')),
    status_changed_at  TEXT NOT NULL,
    UNIQUE (engagement_id, kind)
);

-- The audit trail: one row per message the daemon has read, keyed by its Message-ID (or a
-- content hash where it has none). The row commits before the message is moved on the server.
CREATE TABLE inbound_message (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    message_id      TEXT,
    source          TEXT NOT NULL,
    from_addr       TEXT,
    subject         TEXT,
    sent_at         TEXT,
    classification  TEXT NOT NULL
        CHECK (classification IN ('ignored', 'reply', 'hours', 'unrecognised')),
    reason          TEXT NOT NULL,
    disposition     TEXT NOT NULL CHECK (disposition IN ('processed', 'attention', 'quarantine')),
    size_bytes      INTEGER NOT NULL,
    received_at     TEXT NOT NULL
);
CREATE INDEX inbound_message_by_time ON inbound_message (received_at);

-- Every message tandem will send or has sent. `raw` is the complete RFC 5322 message, built
-- once when the row is written, so its Message-ID and bytes never change across retries.
-- `natural_key` says why it exists (e.g. welcome:ENGAGEMENT:ADDRESS); its uniqueness is what
-- keeps a restart or a second daemon from queueing the same mail twice.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    natural_key      TEXT NOT NULL UNIQUE,
    message_id       TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    engagement_id    INTEGER REFERENCES engagement (id),
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    raw              BLOB NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- The daemon's own health, per component ('inbound', 'outbound', 'scheduler'): the digest
-- shows when each last worked and what went wrong since.
CREATE TABLE health (
    component      TEXT PRIMARY KEY,
    last_ok_at     TEXT,
    last_error_at  TEXT,
    last_error     TEXT,
    error_count    INTEGER NOT NULL DEFAULT 0
);
