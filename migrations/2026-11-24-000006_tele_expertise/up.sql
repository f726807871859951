-- A question about a case from its nurse or a GP of its practice to a psychiatrist covering the
-- practice (PATHWAY.md §4).
CREATE TABLE tele_expertise_requests (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    practice_id TEXT NOT NULL REFERENCES practices (id),
    requester_id TEXT NOT NULL REFERENCES users (id),
    expert_id TEXT NOT NULL REFERENCES users (id),
    question TEXT NOT NULL,
    urgency TEXT NOT NULL,
    patient_consent_at TIMESTAMP NOT NULL,
    attached_score_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    decline_reason TEXT,
    answer TEXT,
    recommendations TEXT,
    accepted_at TIMESTAMP,
    declined_at TIMESTAMP,
    answered_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    billable BOOLEAN,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- The expert's inbox, pending first by due date.
CREATE INDEX tele_expertise_by_expert ON tele_expertise_requests (expert_id, status, due_at);
-- The requester's own requests.
CREATE INDEX tele_expertise_by_requester ON tele_expertise_requests (requester_id, created_at);
CREATE INDEX tele_expertise_by_case ON tele_expertise_requests (case_id, created_at);
-- The billing rule: a patient's answered requests in the last year.
CREATE INDEX tele_expertise_by_patient ON tele_expertise_requests (patient_id, answered_at);
