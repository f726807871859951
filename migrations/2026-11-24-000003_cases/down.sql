DROP TABLE idempotency_keys;
DROP TABLE case_events;
DROP TABLE contacts;
DROP TABLE scores;
DROP TABLE cases;
