use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use actix_web::test::TestRequest;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::Value;
use sesame::db::DbConn;

use crate::common::{PASSWORD, TestApp, TestDatabase, backend, bearer};

/// The committed `openapi.yaml` is exactly what the code generates.
#[test]
fn openapi_yaml_is_what_the_code_generates() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let generated = sesame::http::openapi::yaml();
    assert!(
        committed == generated,
        "openapi.yaml is out of date: run `cargo run -- openapi > openapi.yaml` and commit it"
    );
}

/// Every `$ref` of the contract names a schema the contract defines (client generators stop at a
/// dangling one).
#[test]
fn every_schema_reference_resolves() {
    let doc = sesame::http::openapi::yaml();
    let schemas = doc
        .split("\n  schemas:\n")
        .nth(1)
        .expect("a components.schemas section");
    let defined: BTreeSet<&str> = schemas
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .filter(|l| l.len() > 4 && !l[4..].starts_with(' ') && l.ends_with(':'))
        .map(|l| l[4..].trim_end_matches(':'))
        .collect();
    assert!(
        defined.contains("Problem") && defined.contains("Case"),
        "{defined:?}"
    );
    let dangling: BTreeSet<&str> = doc
        .split("$ref: '#/components/schemas/")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .filter(|name| !defined.contains(name))
        .collect();
    assert!(
        dangling.is_empty(),
        "dangling schema references: {dangling:?}"
    );
}

/// Every documented operation is routed (neither "no such path" nor "method not allowed"), and
/// the service serves the same document it has on disk.
#[actix_web::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let doc: Value =
        serde_json::to_value(<sesame::http::openapi::ApiDoc as utoipa::OpenApi>::openapi())
            .expect("json");
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "patch", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let uri = path.replace("{id}", "01a20000-0000-7000-8000-000000000000");
            let req = TestRequest::default()
                .method(method.to_uppercase().parse().expect("method"))
                .uri(&uri)
                .insert_header(bearer(&admin))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{}");
            let resp = app.send(req).await;
            assert_ne!(resp.status.as_u16(), 405, "{method} {path}");
            assert!(
                !(resp.status.as_u16() == 404 && resp.body["detail"] == "no such path"),
                "{method} {path} is documented but not routed"
            );
        }
    }
    assert!(operations >= 19, "{operations}");

    let served = app.send(TestRequest::get().uri("/openapi.yaml")).await;
    served.assert_status(200);
    assert_eq!(served.text, sesame::http::openapi::yaml());
    let docs = app.send(TestRequest::get().uri("/docs/")).await;
    docs.assert_status(200);
    assert!(
        docs.text.contains("swagger"),
        "{}",
        &docs.text[..docs.text.len().min(200)]
    );
    let init = app
        .send(TestRequest::get().uri("/docs/swagger-initializer.js"))
        .await;
    assert!(init.text.contains("/openapi.yaml"));
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let health = app.send(TestRequest::get().uri("/healthz")).await;
    health.assert_status(200);
    assert_eq!(health.body["status"], "ok");
    let ready = app.send(TestRequest::get().uri("/readyz")).await;
    ready.assert_status(200);
    assert_eq!(ready.body["database"], backend());
    // Load balancers often probe with HEAD: the same answers, without a body.
    for path in ["/healthz", "/readyz"] {
        let head = app
            .send(
                TestRequest::default()
                    .method(actix_web::http::Method::HEAD)
                    .uri(path),
            )
            .await;
        head.assert_status(200);
        assert!(head.text.is_empty(), "{path}: {}", head.text);
    }
    // CI names the backend each pass must run on, so a pass that silently fell back fails here.
    if let Ok(expected) = std::env::var("SESAME_TEST_EXPECT_BACKEND") {
        assert_eq!(
            ready.body["database"],
            expected.as_str(),
            "this pass was meant to run on {expected}"
        );
    }
}

#[derive(QueryableByName, Debug)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    nullable: String,
}

fn columns(conn: &mut DbConn) -> BTreeMap<String, BTreeSet<(String, bool)>> {
    let rows: Vec<ColumnInfo> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'NO' ELSE 'YES' END AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
        )
        .load(c)
        .expect("sqlite columns"),
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, is_nullable::text AS nullable \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE '__diesel%'",
        )
        .load(c)
        .expect("postgres columns"),
    };
    let mut tables: BTreeMap<String, BTreeSet<(String, bool)>> = BTreeMap::new();
    for row in rows {
        tables
            .entry(row.table_name)
            .or_default()
            .insert((row.column_name, row.nullable == "YES"));
    }
    tables
}

/// The migrations give the same tables, columns and nullability on both backends; checked against the other
/// backend when the suite runs on PostgreSQL, and always against `schema.rs`.
#[actix_web::test]
async fn migrations_agree_across_backends_and_with_the_schema() {
    let app = TestApp::new().await;
    let here = columns(&mut app.state.db.conn().expect("conn"));

    // schema.rs, as diesel writes it into a SELECT of every column.
    use sesame::db::schema::*;
    macro_rules! select_all {
        ($($table:ident),* $(,)?) => {
            vec![$((
                stringify!($table),
                diesel::debug_query::<diesel::sqlite::Sqlite, _>(&$table::table.select($table::all_columns)).to_string(),
            )),*]
        };
    }
    let selects = select_all!(
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
        patient_surveys
    );
    let declared: BTreeSet<&str> = selects.iter().map(|(t, _)| *t).collect();
    let migrated: BTreeSet<&str> = here.keys().map(String::as_str).collect();
    assert_eq!(
        declared,
        migrated,
        "tables in schema.rs vs the {} migrations",
        backend()
    );
    for (table, sql) in &selects {
        let select_list = sql.split(" FROM ").next().unwrap_or_default();
        let in_schema: BTreeSet<String> = select_list
            .split(", ")
            .map(|c| {
                c.rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .trim_matches(['`', '"', ' '])
                    .to_owned()
            })
            .collect();
        let in_db: BTreeSet<String> = here[*table].iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(in_schema, in_db, "columns of {table}");
    }

    if backend() == "postgres" {
        // Compare with a fresh SQLite database migrated by the same tree.
        let dir = tempfile::tempdir().expect("dir");
        let mut settings = sesame::config::Settings::embedded_default();
        settings.database_url = sesame::config::DatabaseUrl::Sqlite(dir.path().join("x.db"));
        let sqlite = sesame::db::Db::connect(&settings).expect("sqlite");
        sqlite.migrate().expect("migrate sqlite");
        let other = columns(&mut sqlite.conn().expect("conn"));
        assert_eq!(here, other, "postgres and sqlite migrations differ");
    }
}

/// The documented way to make the first admin: `sesame user create ... --password-stdin`, then the
/// password grant, then `/me`.
#[actix_web::test]
async fn the_first_admin_is_made_on_the_command_line() {
    let db = TestDatabase::new();
    let mut child = db
        .sesame()
        .args([
            "user",
            "create",
            "--email",
            "first@example.fr",
            "--name",
            "First Admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sesame");
    writeln!(child.stdin.take().expect("stdin"), "{PASSWORD}").expect("write password");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    // Without --password-stdin the command refuses (passwords never go in arguments).
    let refused = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args([
            "user",
            "create",
            "--email",
            "x@example.fr",
            "--name",
            "X",
            "--role",
            "admin",
        ])
        .env("DATABASE_URL", db.env_url())
        .output()
        .expect("run");
    assert!(!refused.status.success());

    let app = TestApp::on(db).await;
    let token = app.token("first@example.fr").await;
    let me = app.get("/api/v1/me", &token).await;
    me.assert_status(200);
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["role"], "admin");
}

#[test]
fn a_bad_configuration_is_refused_at_start_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["migrate"])
        .env("DATABASE_URL", "mysql://nope")
        .env("SESAME_DB_POOL_SIZE", "many")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DATABASE_URL") && stderr.contains("SESAME_DB_POOL_SIZE"),
        "{stderr}"
    );
}
