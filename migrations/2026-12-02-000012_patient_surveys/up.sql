-- The microstructures' patient experience survey (issue 13; seeds/002): six statements answered
-- on a four-point agreement scale (strongly_disagree, disagree, agree, strongly_agree; NULL where
-- the patient did not answer), recorded by the team at six months of care or at exit, one of each
-- per case. The program and practice are copied from the case for the report's queries.
CREATE TABLE patient_surveys (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    patient_id TEXT NOT NULL,
    practice_id TEXT NOT NULL,
    program TEXT NOT NULL,
    context TEXT NOT NULL,
    answered_on DATE NOT NULL,
    never_seen_social_worker TEXT,
    never_seen_psychiatrist TEXT,
    never_seen_psychologist TEXT,
    quality_of_life_improved TEXT,
    better_consumption TEXT,
    would_recommend TEXT,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, context)
);
-- A practice's (or a period's) surveys, for the program report.
CREATE INDEX patient_surveys_by_practice ON patient_surveys (practice_id, answered_on);
