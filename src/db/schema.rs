//! The tables, in the SQL types both backends share (ids and enums as text, times as UTC
//! timestamps). Both migration trees must produce exactly these columns; a test checks it.

diesel::table! {
    practices (id) {
        id -> Text,
        name -> Text,
        network -> Nullable<Text>,
        region -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    practice_programs (practice_id, program, starts_on) {
        practice_id -> Text,
        program -> Text,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        funding -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        locale -> Text,
        active -> Bool,
        password_hash -> Text,
        failed_logins -> Integer,
        locked_at -> Nullable<Timestamp>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_practices (user_id, practice_id) {
        user_id -> Text,
        practice_id -> Text,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        practice_id -> Text,
        name -> Text,
        secret_hash -> Text,
        active -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        family_id -> Text,
        user_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(practice_programs -> practices (practice_id));
diesel::joinable!(user_practices -> users (user_id));
diesel::joinable!(user_practices -> practices (practice_id));
diesel::joinable!(api_clients -> practices (practice_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    patients (id) {
        id -> Text,
        practice_id -> Text,
        external_id -> Text,
        family_name -> Text,
        given_names -> Text,
        birth_date -> Date,
        sex -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        ins -> Nullable<Text>,
        ins_status -> Nullable<Text>,
        consent_status -> Text,
        consent_at -> Timestamp,
        consent_by -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_id -> Text,
        actor_kind -> Text,
        action -> Text,
        patient_id -> Nullable<Text>,
        case_id -> Nullable<Text>,
        outcome -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        subject_id -> Text,
        subject_kind -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (user_id, client_addr) {
        user_id -> Text,
        client_addr -> Text,
        failed -> Integer,
        last_failed_at -> Timestamp,
        locked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        patient_id -> Text,
        practice_id -> Text,
        program -> Text,
        indications -> Text,
        substances -> Text,
        referred_by -> Text,
        referring_gp_id -> Nullable<Text>,
        nurse_id -> Nullable<Text>,
        psychiatrist_id -> Nullable<Text>,
        phase -> Text,
        referred_at -> Timestamp,
        assessed_at -> Nullable<Timestamp>,
        phase_since -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        exit_reason -> Nullable<Text>,
        referral_note -> Nullable<Text>,
        care_plan -> Nullable<Text>,
        review_requested -> Bool,
        last_completed_contact_at -> Nullable<Timestamp>,
        due_on -> Nullable<Date>,
        baseline_phq9 -> Nullable<Text>,
        baseline_gad7 -> Nullable<Text>,
        latest_phq9 -> Nullable<Text>,
        latest_gad7 -> Nullable<Text>,
        responded -> Bool,
        safety_alert -> Bool,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        psychologist_id -> Nullable<Text>,
        social_worker_id -> Nullable<Text>,
        last_psychological_at -> Nullable<Timestamp>,
        last_social_at -> Nullable<Timestamp>,
        baseline_substance_use -> Nullable<Text>,
        latest_substance_use -> Nullable<Text>,
        baseline_epices -> Nullable<Text>,
        latest_epices -> Nullable<Text>,
    }
}

diesel::table! {
    scores (id) {
        id -> Text,
        case_id -> Text,
        event_id -> Text,
        instrument -> Text,
        items -> Text,
        total -> Integer,
        band -> Text,
        loinc -> Text,
        measured_at -> Timestamp,
        context -> Text,
        recorded_by -> Text,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        case_id -> Text,
        occurred_at -> Timestamp,
        mode -> Text,
        outcome -> Text,
        duration_minutes -> Nullable<Integer>,
        note -> Nullable<Text>,
        next_planned_at -> Nullable<Timestamp>,
        author_id -> Text,
        created_at -> Timestamp,
        kind -> Nullable<Text>,
        substance_use -> Nullable<Text>,
        epices -> Nullable<Text>,
    }
}

diesel::table! {
    case_events (id) {
        id -> Text,
        case_id -> Text,
        occurred_at -> Timestamp,
        recorded_at -> Timestamp,
        kind -> Text,
        actor_id -> Text,
        from_phase -> Nullable<Text>,
        to_phase -> Nullable<Text>,
        exit_reason -> Nullable<Text>,
        contact_id -> Nullable<Text>,
        detail -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (actor_id, idempotency_key) {
        actor_id -> Text,
        idempotency_key -> Text,
        request_digest -> Text,
        status -> Integer,
        location -> Nullable<Text>,
        etag -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        dedupe_key -> Text,
        kind -> Text,
        recipient -> Text,
        recipient_user_id -> Nullable<Text>,
        locale -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tele_expertise_requests (id) {
        id -> Text,
        case_id -> Text,
        patient_id -> Text,
        practice_id -> Text,
        requester_id -> Text,
        expert_id -> Text,
        question -> Text,
        urgency -> Text,
        patient_consent_at -> Timestamp,
        attached_score_ids -> Text,
        status -> Text,
        due_at -> Timestamp,
        decline_reason -> Nullable<Text>,
        answer -> Nullable<Text>,
        recommendations -> Nullable<Text>,
        accepted_at -> Nullable<Timestamp>,
        declined_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        billable -> Nullable<Bool>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        practice_id -> Text,
        held_on -> Date,
        note -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    meeting_participants (meeting_id, user_id) {
        meeting_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    meeting_decisions (id) {
        id -> Text,
        meeting_id -> Text,
        position -> Integer,
        case_id -> Text,
        patient_id -> Text,
        note -> Text,
        clear_review -> Bool,
        planned_phase -> Nullable<Text>,
        planned_exit_reason -> Nullable<Text>,
        tele_expertise_id -> Nullable<Text>,
    }
}

diesel::table! {
    patient_surveys (id) {
        id -> Text,
        case_id -> Text,
        patient_id -> Text,
        practice_id -> Text,
        program -> Text,
        context -> Text,
        answered_on -> Date,
        never_seen_social_worker -> Nullable<Text>,
        never_seen_psychiatrist -> Nullable<Text>,
        never_seen_psychologist -> Nullable<Text>,
        quality_of_life_improved -> Nullable<Text>,
        better_consumption -> Nullable<Text>,
        would_recommend -> Nullable<Text>,
        recorded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(patients -> practices (practice_id));
diesel::joinable!(cases -> patients (patient_id));
diesel::joinable!(scores -> cases (case_id));
diesel::joinable!(contacts -> cases (case_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(meeting_participants -> meetings (meeting_id));
diesel::joinable!(meeting_decisions -> meetings (meeting_id));
diesel::joinable!(patient_surveys -> cases (case_id));

diesel::allow_tables_to_appear_in_same_query!(
    practices,
    practice_programs,
    users,
    user_practices,
    api_clients,
    refresh_tokens,
    patients,
    audit_events,
    sessions,
    login_failures,
    cases,
    scores,
    contacts,
    case_events,
    idempotency_keys,
    outbox,
    tele_expertise_requests,
    meetings,
    meeting_participants,
    meeting_decisions,
    patient_surveys,
);
