-- Check-ins to the assistant are surveys of their own kind ('checkin'), so they share the
-- survey's answers, reminders and reply paths.
ALTER TABLE survey DROP CONSTRAINT survey_kind_check;
ALTER TABLE survey ADD CONSTRAINT survey_kind_check
    CHECK (kind IN ('feedback', 'trial_review', 'checkin'));
