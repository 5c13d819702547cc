-- Issue 12: a receipt's `outbox_raw.raw` may be a draft (`outbound::draft`: `MAGIC`, then its
-- template, context and headers as JSON), written out when it is sent. The migration is also
-- there so that a build from before drafts, which would send a draft as it is, refuses this
-- database as a newer one.
COMMENT ON COLUMN outbox_raw.raw IS
    'the message as sent (RFC 5322), or a draft of it: outbound::draft::MAGIC, then JSON';
