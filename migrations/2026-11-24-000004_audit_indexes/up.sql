-- Audit rows are written for every patient a list shows (100+ per worklist); each index keyed
-- by a random id costs a random page write per row. Rows of a case are found through its
-- patient (the handler resolves it), so the case index goes.
DROP INDEX audit_events_by_case;
