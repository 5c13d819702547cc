-- What a message is, apart from its Message-ID: a hash of its sender, subject, date and text.
-- A message that reuses a known Message-ID with other content gets a row of its own instead of
-- being taken for a copy (NULL for rows written before this column existed).
ALTER TABLE inbound_message ADD COLUMN content_hash TEXT;

-- Messages whose handling failed, and how often: a message is tried `[limits] attempts` times
-- (across restarts), then recorded as unreadable and quarantined, so it never holds up the
-- mail behind it. The row goes when the message is recorded.
CREATE TABLE inbound_attempt (
    dedupe_key  TEXT PRIMARY KEY,
    attempts    INTEGER NOT NULL,
    last_error  TEXT NOT NULL,
    last_at     TEXT NOT NULL
);

-- A document that came back by mail is stored once, however many agreements it is for
-- (a contract PDF sent for three agreements was stored three times).
CREATE TABLE document (
    id            INTEGER PRIMARY KEY,
    inbound_id    INTEGER NOT NULL REFERENCES inbound_message (id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    data          BLOB NOT NULL,
    received_at   TEXT NOT NULL
);
INSERT INTO document (id, inbound_id, filename, content_type, data, received_at)
    SELECT id, inbound_id, filename, content_type, data, received_at FROM agreement_document;
CREATE TABLE agreement_document_link (
    agreement_id  INTEGER NOT NULL REFERENCES agreement (id),
    document_id   INTEGER NOT NULL REFERENCES document (id),
    PRIMARY KEY (agreement_id, document_id)
);
INSERT INTO agreement_document_link (agreement_id, document_id)
    SELECT agreement_id, id FROM agreement_document;
DROP TABLE agreement_document;
ALTER TABLE agreement_document_link RENAME TO agreement_document;
