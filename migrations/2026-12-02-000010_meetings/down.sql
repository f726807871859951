DROP TABLE meeting_decisions;
DROP TABLE meeting_participants;
DROP TABLE meetings;
