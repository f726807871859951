CREATE TABLE patients (
    id TEXT PRIMARY KEY NOT NULL,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    external_id TEXT NOT NULL,
    family_name TEXT NOT NULL,
    given_names TEXT NOT NULL,
    birth_date DATE NOT NULL,
    sex TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    ins TEXT,
    ins_status TEXT,
    consent_status TEXT NOT NULL,
    consent_at TIMESTAMP NOT NULL,
    consent_by TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- The practice software's own id is unique within its practice.
CREATE UNIQUE INDEX patients_external_id ON patients (practice_id, external_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    patient_id TEXT,
    case_id TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at);
CREATE INDEX audit_events_by_patient ON audit_events (patient_id, occurred_at);
CREATE INDEX audit_events_by_case ON audit_events (case_id, occurred_at);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, occurred_at);
