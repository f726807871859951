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
    }
}

diesel::joinable!(patients -> practices (practice_id));

diesel::allow_tables_to_appear_in_same_query!(
    practices,
    users,
    user_practices,
    api_clients,
    refresh_tokens,
    patients,
    audit_events,
);
