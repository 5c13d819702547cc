-- The monthly timesheet (issue 18, part TS): one row per engagement and month once it was
-- sent (or approved by the operator), with what the client answered. The month is `YYYY-MM`.
-- `minutes`/`amount_cents` are what the last sheet showed; `approved_*` what was approved
-- (the totals of the sheet the client answered). `locked` is set on approval with
-- `[timesheet] lock_on_approval`: the month is then closed for that engagement as a locked
-- month is for all (no voids, no restores). Hours for an approved month are refused either way.
CREATE TABLE timesheet (
    id                INTEGER PRIMARY KEY,
    engagement_id     INTEGER NOT NULL REFERENCES engagement (id),
    month             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('sent', 'approved', 'disputed')),
    minutes           INTEGER NOT NULL,
    amount_cents      INTEGER,
    recipient         TEXT NOT NULL,
    -- How many times it was sent: the natural key of a resend is `timesheet:ENG:MONTH:N`.
    sends             INTEGER NOT NULL,
    sent_at           TEXT NOT NULL,
    answered_at       TEXT,
    -- The address that approved or disputed it, or `operator`.
    answered_by       TEXT,
    approved_minutes  INTEGER,
    approved_cents    INTEGER,
    -- The client's words when they disputed it.
    dispute           TEXT,
    inbound_id        INTEGER REFERENCES inbound_message (id),
    locked            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (engagement_id, month)
);
CREATE INDEX timesheet_by_status ON timesheet (status, sent_at);

-- The plan reads the timesheets (a sent one plans its reminder; an answered one stops it).
CREATE TRIGGER timesheet_wake_insert AFTER INSERT ON timesheet
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = NEW.engagement_id;
END;
CREATE TRIGGER timesheet_wake_update AFTER UPDATE ON timesheet
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id IN (OLD.engagement_id, NEW.engagement_id);
END;
CREATE TRIGGER timesheet_wake_delete AFTER DELETE ON timesheet
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = OLD.engagement_id;
END;
