-- The weekly digest: every error the daemon met, so the digest can count those since the last
-- one (the `health` table keeps only the latest).
CREATE TABLE health_event (
    id         INTEGER PRIMARY KEY,
    component  TEXT NOT NULL,
    at         TEXT NOT NULL,
    error      TEXT NOT NULL
);
CREATE INDEX health_event_by_time ON health_event (component, at);
CREATE INDEX inbound_message_by_disposition ON inbound_message (disposition, received_at);
CREATE INDEX survey_answer_by_time ON survey_answer (answered_at);
