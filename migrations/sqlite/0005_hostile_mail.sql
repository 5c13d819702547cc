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
