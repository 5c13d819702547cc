-- The outgoing message itself in a table of its own, as SQLite's 0012: the outbox row that
-- claims and marks update stays small (PostgreSQL writes a new row version on every update).
CREATE TABLE outbox_raw (
    outbox_id  BIGINT PRIMARY KEY REFERENCES outbox (id),
    raw        BYTEA NOT NULL
);
INSERT INTO outbox_raw (outbox_id, raw) SELECT id, raw FROM outbox;
ALTER TABLE outbox DROP COLUMN raw;
