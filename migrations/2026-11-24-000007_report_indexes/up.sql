-- The program report (GET /reports/program): contacts of a period are counted from an index range
-- that holds everything the count needs, and "who acted in the period" is one probe per account.
CREATE INDEX contacts_by_time ON contacts (occurred_at, outcome, case_id);
CREATE INDEX case_events_by_actor ON case_events (actor_id, recorded_at);
