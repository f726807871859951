-- Every email is a row written in the transaction of the event that causes it, then delivered by
-- the sender. `dedupe_key` makes a second copy of the same message impossible
-- (`digest:nurse:{user}:{date}`, `safety:{score}:{user}`, ...).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    dedupe_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    recipient_user_id TEXT,
    locale TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    lease_until TIMESTAMP,
    last_error TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX outbox_dedupe_key ON outbox (dedupe_key);
-- The sender's query: what is due (pending and past its next attempt, or sending with an expired
-- lease).
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
