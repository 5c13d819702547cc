-- Issue 18 (KO): the kickoff call of an engagement, the answers to its invitation, and a
-- client's own holiday region (as migrations/sqlite/0016).

ALTER TABLE client ADD COLUMN holidays TEXT;

CREATE TRIGGER client_holidays_wake AFTER UPDATE OF holidays ON client
    FOR EACH ROW EXECUTE FUNCTION client_wake();

CREATE TABLE kickoff_call (
    engagement_id  BIGINT PRIMARY KEY REFERENCES engagement (id),
    uid            TEXT NOT NULL UNIQUE,
    starts_at      TIMESTAMPTZ NOT NULL,
    timezone       TEXT NOT NULL,
    minutes        BIGINT NOT NULL CHECK (minutes > 0),
    sequence       BIGINT NOT NULL CHECK (sequence >= 0),
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE kickoff_response (
    engagement_id  BIGINT NOT NULL REFERENCES engagement (id),
    sequence       BIGINT NOT NULL,
    invitee        TEXT NOT NULL,
    partstat       TEXT NOT NULL CHECK (partstat IN ('accepted', 'declined', 'tentative')),
    answered_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (engagement_id, sequence, invitee)
);
