-- Sender authentication (PRODUCT.md, "Sender authentication").
-- The verdict on each message's sender: 'pass', 'fail', or NULL when the policy was "off"
-- (not checked); and what it rests on, as JSON (`inbound::auth::Authentication`).
ALTER TABLE inbound_message ADD COLUMN auth_verdict TEXT CHECK (auth_verdict IN ('pass', 'fail'));
ALTER TABLE inbound_message ADD COLUMN authentication TEXT;
-- People whose provider signs nothing, marked by the operator: their mail is handled although
-- their sender is not authenticated.
ALTER TABLE assistant ADD COLUMN unauthenticated_ok INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contact ADD COLUMN unauthenticated_ok INTEGER NOT NULL DEFAULT 0;
