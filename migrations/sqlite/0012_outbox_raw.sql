-- The outgoing message itself in a table of its own (issue 14, "Schema for scale"): in the
-- outbox row, the few kilobytes of `raw` sat before `state`, `next_attempt_at`, `created_at`
-- and the rest, so reading any of those walked the blob's overflow pages, and every claim and
-- every mark of a result rewrote the whole message. Written once, read once per send.
CREATE TABLE outbox_raw (
    outbox_id  INTEGER PRIMARY KEY REFERENCES outbox (id),
    raw        BLOB NOT NULL
);
INSERT INTO outbox_raw (outbox_id, raw) SELECT id, raw FROM outbox;
ALTER TABLE outbox DROP COLUMN raw;
