-- What the operator did with mail filed for a person (issue 16): `attention done` (read and
-- dealt with) or `quarantine release` (handed back to the reader, which records it afresh
-- under its own key; the released row keeps the record of the quarantine under
-- `released:ID:KEY`). One row per message at most: a message is dealt with once.
CREATE TABLE inbound_handled (
    inbound_id  BIGINT PRIMARY KEY REFERENCES inbound_message (id),
    action      TEXT NOT NULL CHECK (action IN ('done', 'released')),
    handled_at  TIMESTAMPTZ NOT NULL
);
