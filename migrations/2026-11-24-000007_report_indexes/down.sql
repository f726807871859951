DROP INDEX case_events_by_actor;
DROP INDEX contacts_by_time;
