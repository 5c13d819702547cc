-- Issue 12: a receipt's `outbox_raw.raw` may be a draft (`outbound::draft`: `MAGIC`, then its
-- template, context and headers as JSON), written out when it is sent. Nothing changes in the
-- schema; the migration is there so that a build from before drafts, which would send a draft
-- as it is, refuses this database as a newer one.
SELECT 1;
