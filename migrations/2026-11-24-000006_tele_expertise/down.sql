DROP TABLE tele_expertise_requests;
