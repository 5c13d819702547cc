-- The outbox worker sends several messages at once, but never two to one recipient at the same
-- time (a receipt goes before the confirmation of its `cancel`): a claim looks for a row of the
-- same recipient still being sent.
CREATE INDEX outbox_sending_by_recipient ON outbox (recipient) WHERE state = 'sending';
