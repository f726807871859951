CREATE INDEX audit_events_by_case ON audit_events (case_id, occurred_at);
