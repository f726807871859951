-- One episode of care of one patient (PATHWAY.md §2). The derived facts the worklist sorts and
-- filters on (due date, response, latest scores, safety alert) are kept on the row, recomputed by
-- the domain functions on every write of the case.
CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    practice_id TEXT NOT NULL REFERENCES practices (id),
    program TEXT NOT NULL,
    indications TEXT NOT NULL,
    substances TEXT NOT NULL,
    referred_by TEXT NOT NULL,
    referring_gp_id TEXT REFERENCES users (id),
    nurse_id TEXT REFERENCES users (id),
    psychiatrist_id TEXT REFERENCES users (id),
    phase TEXT NOT NULL,
    referred_at TIMESTAMP NOT NULL,
    assessed_at TIMESTAMP,
    phase_since TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    exit_reason TEXT,
    referral_note TEXT,
    care_plan TEXT,
    review_requested BOOLEAN NOT NULL DEFAULT FALSE,
    last_completed_contact_at TIMESTAMP,
    due_on DATE,
    baseline_phq9 TEXT,
    baseline_gad7 TEXT,
    latest_phq9 TEXT,
    latest_gad7 TEXT,
    responded BOOLEAN NOT NULL DEFAULT FALSE,
    safety_alert BOOLEAN NOT NULL DEFAULT FALSE,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- One open case per patient.
CREATE UNIQUE INDEX cases_one_open_per_patient ON cases (patient_id) WHERE phase <> 'closed';
-- A nurse's caseload: the cases assigned to them...
CREATE INDEX cases_by_nurse ON cases (nurse_id, phase);
-- ...plus the referrals of their practices; also the practice lists and the due-date filters.
CREATE INDEX cases_by_practice ON cases (practice_id, phase, due_on);
CREATE INDEX cases_by_psychiatrist ON cases (psychiatrist_id, phase);
CREATE INDEX cases_by_gp ON cases (referring_gp_id, phase);

-- Every questionnaire answered on a case: at screening, at the assessment, at a contact.
CREATE TABLE scores (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    event_id TEXT NOT NULL,
    instrument TEXT NOT NULL,
    items TEXT NOT NULL,
    total INTEGER NOT NULL,
    band TEXT NOT NULL,
    loinc TEXT NOT NULL,
    measured_at TIMESTAMP NOT NULL,
    context TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX scores_by_case ON scores (case_id, instrument, measured_at);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    occurred_at TIMESTAMP NOT NULL,
    mode TEXT NOT NULL,
    outcome TEXT NOT NULL,
    duration_minutes INTEGER,
    note TEXT,
    next_planned_at TIMESTAMP,
    author_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_by_case ON contacts (case_id, occurred_at);

-- The timeline: referral, assessment, contacts, transitions, reassignments, review flags.
CREATE TABLE case_events (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    from_phase TEXT,
    to_phase TEXT,
    exit_reason TEXT,
    contact_id TEXT,
    detail TEXT,
    note TEXT
);
CREATE INDEX case_events_by_case ON case_events (case_id, occurred_at);

-- Responses kept for Idempotency-Key retries.
CREATE TABLE idempotency_keys (
    actor_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    etag TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
