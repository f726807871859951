-- Sessions: every access token names one (claim `sid`). A person's session is the family of
-- refresh tokens of one login; an API client's is one client-credentials grant. Revoking a
-- session (logout, a replayed refresh token, deactivation, a password change, an admin lock or
-- unlock) refuses its access tokens at once, on every instance.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    subject_id TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX sessions_by_subject ON sessions (subject_id, created_at);

-- Failed logins counted per account and client address: failures from one address lock the
-- account for that address only, so nobody can lock a colleague out from elsewhere.
CREATE TABLE login_failures (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_addr TEXT NOT NULL,
    failed INTEGER NOT NULL,
    last_failed_at TIMESTAMP NOT NULL,
    locked_at TIMESTAMP,
    PRIMARY KEY (user_id, client_addr)
);

-- Why an attempt was refused (denied rows): `role`, `practice`, `bad_password`, `revoked`, …
ALTER TABLE audit_events ADD COLUMN reason TEXT;
