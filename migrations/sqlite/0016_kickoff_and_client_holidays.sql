-- Issue 18 (KO): the kickoff call of an engagement, the answers to its invitation, and a
-- client's own holiday region.

-- A client's own region of public holidays (`DE-NW`; NULL: the agency's `[schedule] holidays`),
-- which closes the send window of mail to its contacts.
ALTER TABLE client ADD COLUMN holidays TEXT;

-- The region is read by the plan, as the zone is: a change wakes the client's engagements.
CREATE TRIGGER client_holidays_wake AFTER UPDATE OF holidays ON client
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE client_id = NEW.id;
END;

-- The kickoff call: one per engagement. `sequence` counts the invitations (0 the first, one
-- more for each new time: iCalendar's SEQUENCE); `uid` is the event's UID, kept across them.
CREATE TABLE kickoff_call (
    engagement_id  INTEGER PRIMARY KEY REFERENCES engagement (id),
    uid            TEXT NOT NULL UNIQUE,
    starts_at      TEXT NOT NULL,
    timezone       TEXT NOT NULL,
    minutes        INTEGER NOT NULL CHECK (minutes > 0),
    sequence       INTEGER NOT NULL CHECK (sequence >= 0),
    updated_at     TEXT NOT NULL
);

-- An invitee's answer to an invitation (by iTIP reply or in words): the latest per invitee
-- and sequence. `invitee` is `contact:ID` or `assistant:ID` (no name or address is kept here).
CREATE TABLE kickoff_response (
    engagement_id  INTEGER NOT NULL REFERENCES engagement (id),
    sequence       INTEGER NOT NULL,
    invitee        TEXT NOT NULL,
    partstat       TEXT NOT NULL CHECK (partstat IN ('accepted', 'declined', 'tentative')),
    answered_at    TEXT NOT NULL,
    PRIMARY KEY (engagement_id, sequence, invitee)
);
