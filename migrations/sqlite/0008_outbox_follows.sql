-- Mail goes out several at a time, to one recipient too; a mail that continues a thread whose
-- earlier mail is still unsent (the confirmation of a `cancel` after its receipt) names that
-- row and waits for it to be sent or given up.
ALTER TABLE outbox ADD COLUMN after_id INTEGER REFERENCES outbox (id);
-- The claim no longer looks for a row of the same recipient being sent.
DROP INDEX outbox_sending_by_recipient;
