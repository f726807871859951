-- The care team's case review meeting (réunion de synthèse of a microstructure, nurse–psychiatrist
-- caseload review of Sésame): when a practice's team met, who took part, and what it decided
-- about each case discussed (PATHWAY.md §7).
CREATE TABLE meetings (
    id TEXT PRIMARY KEY NOT NULL,
    practice_id TEXT NOT NULL REFERENCES practices (id),
    held_on DATE NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
-- A practice's meetings, newest first; which practices met in a month (the coordinators' digest).
CREATE INDEX meetings_by_practice ON meetings (practice_id, held_on);
CREATE INDEX meetings_by_day ON meetings (held_on);

CREATE TABLE meeting_participants (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (meeting_id, user_id)
);

-- One case discussed at a meeting: the team's note, whether it cleared the review flag, the
-- phase move it plans (the case is not moved), the tele-expertise request it asked, if any.
CREATE TABLE meeting_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    position INTEGER NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    note TEXT NOT NULL,
    clear_review BOOLEAN NOT NULL,
    planned_phase TEXT,
    planned_exit_reason TEXT,
    tele_expertise_id TEXT REFERENCES tele_expertise_requests (id)
);
CREATE INDEX meeting_decisions_by_meeting ON meeting_decisions (meeting_id, position);
-- When a case was last discussed (the agenda).
CREATE INDEX meeting_decisions_by_case ON meeting_decisions (case_id, meeting_id);
