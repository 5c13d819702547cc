-- Indexes for what the digest asks of a large agency (issue 14, "Schema for scale"), each
-- checked with EXPLAIN QUERY PLAN: before, each of these queries scanned its table.
-- The digest's hours of a week and a month (work_date in a range, every engagement).
CREATE INDEX time_entry_by_date ON time_entry (work_date);
-- Unanswered surveys of a period: answered_at IS NULL AND sent_at in a range.
CREATE INDEX survey_by_answered ON survey (answered_at, sent_at);
-- When the last digest was queued: MAX(created_at) WHERE kind = 'digest' (a covering search).
CREATE INDEX outbox_by_kind ON outbox (kind, created_at);
-- Not added, after EXPLAIN QUERY PLAN: survey (sent_at) is not chosen by the answers since a
-- date (they are read in engagement order, which the (engagement_id, kind, period) key gives);
-- health events after a time are counted from the covering health_event_by_time
-- (component, at) already.
