-- no-transaction
-- Check-ins to the assistant are surveys of their own kind ('checkin'), so they share the
-- survey's answers, reminders and reply paths. SQLite cannot change a CHECK in place: the
-- table is rebuilt (SQLite's "other kinds of table schema changes": foreign keys off, a new
-- table, the rows copied, the old one dropped and the new one renamed into its place, in one
-- transaction), then its index and triggers are made again.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE survey_new (
    id             INTEGER PRIMARY KEY,
    engagement_id  INTEGER NOT NULL REFERENCES engagement (id),
    kind           TEXT NOT NULL CHECK (kind IN ('feedback', 'trial_review', 'checkin')),
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
INSERT INTO survey_new (id, engagement_id, kind, period, questions, recipient, locale,
                        message_id, sent_at, answered_at)
    SELECT id, engagement_id, kind, period, questions, recipient, locale, message_id, sent_at,
           answered_at FROM survey;
DROP TABLE survey;
ALTER TABLE survey_new RENAME TO survey;
CREATE INDEX survey_by_answered ON survey (answered_at, sent_at);
CREATE TRIGGER survey_wake_insert AFTER INSERT ON survey
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = NEW.engagement_id;
END;
CREATE TRIGGER survey_wake_update AFTER UPDATE ON survey
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id IN (OLD.engagement_id, NEW.engagement_id);
END;
CREATE TRIGGER survey_wake_delete AFTER DELETE ON survey
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = OLD.engagement_id;
END;
COMMIT;
PRAGMA foreign_keys = ON;
