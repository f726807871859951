ALTER TABLE audit_events DROP COLUMN reason;
DROP TABLE login_failures;
DROP TABLE sessions;
