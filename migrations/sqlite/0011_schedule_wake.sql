-- The scheduler's wake-ups (issue 14, "Scale of the scheduler"). Each engagement keeps when it
-- next needs the scheduler: its next planned send, or the end of the planning horizon. A pass
-- plans only the engagements whose wake_at has come or is NULL ("plan at the next pass").
-- The plan is a pure function of stored facts; every change to a fact it reads sets wake_at
-- to NULL and counts one more change in facts_changed. The triggers below do it in the
-- transaction of the change, whoever writes it (a flow, the CLI, another daemon), so no
-- writer can forget. The scheduler stores a wake-up only while facts_changed is still the
-- count it read before planning, so a change during a pass is never overwritten.
-- What is not a fact in the database (the config's cadences and zones) is covered by waking
-- every engagement when the scheduler starts.
ALTER TABLE engagement ADD COLUMN wake_at TEXT;
ALTER TABLE engagement ADD COLUMN facts_changed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX engagement_by_wake ON engagement (wake_at);

-- The engagement itself: its dates, status, people.
CREATE TRIGGER engagement_wake AFTER UPDATE OF start_date, trial_end, status, created_at,
    assistant_id, client_id ON engagement
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1 WHERE id = NEW.id;
END;

-- The recipients' zones.
CREATE TRIGGER assistant_wake AFTER UPDATE OF timezone ON assistant
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE assistant_id = NEW.id;
END;
CREATE TRIGGER client_wake AFTER UPDATE OF timezone ON client
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE client_id = NEW.id;
END;

-- Agreements (what is pending stops or starts reminders).
CREATE TRIGGER agreement_wake_insert AFTER INSERT ON agreement
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = NEW.engagement_id;
END;
CREATE TRIGGER agreement_wake_update AFTER UPDATE ON agreement
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id IN (OLD.engagement_id, NEW.engagement_id);
END;
CREATE TRIGGER agreement_wake_delete AFTER DELETE ON agreement
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = OLD.engagement_id;
END;

-- Surveys (sent and answered times: reminders, the trial review).
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

-- The mail queued for the engagement (the natural keys the plan checks as sent).
CREATE TRIGGER outbox_wake_insert AFTER INSERT ON outbox WHEN NEW.engagement_id IS NOT NULL
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = NEW.engagement_id;
END;
CREATE TRIGGER outbox_wake_delete AFTER DELETE ON outbox WHEN OLD.engagement_id IS NOT NULL
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = OLD.engagement_id;
END;
CREATE TRIGGER outbox_wake_update AFTER UPDATE OF natural_key, engagement_id ON outbox
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id IN (OLD.engagement_id, NEW.engagement_id);
END;

-- Hours logged or cancelled (the weeks without hours get a nudge).
CREATE TRIGGER time_entry_wake_insert AFTER INSERT ON time_entry
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = NEW.engagement_id;
END;
CREATE TRIGGER time_entry_wake_update AFTER UPDATE OF status, work_date, engagement_id
    ON time_entry
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id IN (OLD.engagement_id, NEW.engagement_id);
END;
CREATE TRIGGER time_entry_wake_delete AFTER DELETE ON time_entry
BEGIN
    UPDATE engagement SET wake_at = NULL, facts_changed = facts_changed + 1
        WHERE id = OLD.engagement_id;
END;
