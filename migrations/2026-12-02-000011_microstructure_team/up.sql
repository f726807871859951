-- The microstructure team (issue 13): the psychologist and the social worker who follow a
-- microstructure case, when each last held a completed consultation (their own weekly due
-- dates), the use of each product over the last 28 days and the EPICES answers, at inclusion
-- (baseline) and most recently.
ALTER TABLE cases ADD COLUMN psychologist_id TEXT REFERENCES users (id);
ALTER TABLE cases ADD COLUMN social_worker_id TEXT REFERENCES users (id);
ALTER TABLE cases ADD COLUMN last_psychological_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN last_social_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN baseline_substance_use TEXT;
ALTER TABLE cases ADD COLUMN latest_substance_use TEXT;
ALTER TABLE cases ADD COLUMN baseline_epices TEXT;
ALTER TABLE cases ADD COLUMN latest_epices TEXT;
CREATE INDEX cases_by_psychologist ON cases (psychologist_id, phase);
CREATE INDEX cases_by_social_worker ON cases (social_worker_id, phase);

-- A consultation of the microstructure team is a contact with its kind (psychological, social,
-- medical); Sésame's nurse contacts have none. Days of use per product and EPICES answers as
-- measured at the consultation.
ALTER TABLE contacts ADD COLUMN kind TEXT;
ALTER TABLE contacts ADD COLUMN substance_use TEXT;
ALTER TABLE contacts ADD COLUMN epices TEXT;
