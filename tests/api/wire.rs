//! Below the application, over real sockets against a real `sesame serve`: rate limits per client
//! address (the peer's, or what a trusted proxy reports), and the HTTP parser's own errors.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sesame::domain::account::Role;

use crate::common::{PASSWORD, Server, TestApp, TestDatabase, free_port};

fn serve(db: &TestDatabase, env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let child = db
        .sesame()
        .arg("serve")
        .env("SESAME_BIND", format!("127.0.0.1:{port}"))
        .env("SESAME_BACKGROUND_JOBS", "false")
        .env("SESAME_WORKERS", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sesame serve");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while request(&server, "GET", "/healthz", &[], "").0 != 200 {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// One HTTP/1.1 request on its own connection: (status, headers and body as text).
fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", server.port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn login(server: &Server, from: &str, email: &str, password: &str) -> (u16, String) {
    request(
        server,
        "POST",
        "/api/v1/auth/token",
        &[
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", from),
        ],
        &format!(r#"{{"grant_type":"password","email":"{email}","password":"{password}"}}"#),
    )
}

fn is_429_problem(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http/1.1 429")
        && lower.contains("content-type: application/problem+json")
        && lower.contains("retry-after: ")
        && text.contains("\"status\":429")
}

#[actix_web::test]
async fn bad_tokens_and_failed_logins_are_limited_per_client_address() {
    let app = TestApp::new().await;
    app.admin().await;
    let nurse = app.account(Role::Nurse, &[]).await;
    let server = serve(
        app.database(),
        &[
            ("SESAME_TRUSTED_PROXIES", "127.0.0.1"),
            ("SESAME_AUTH_FAILURES_PER_MINUTE", "5"),
        ],
    );
    let bad_token = |from: &str| {
        request(
            &server,
            "GET",
            "/api/v1/me",
            &[
                ("Authorization", "Bearer not-a-token"),
                ("X-Forwarded-For", from),
            ],
            "",
        )
    };
    // Five refusals, then 429 with Retry-After, as a problem document.
    for _ in 0..5 {
        assert_eq!(bad_token("203.0.113.1").0, 401);
    }
    let (status, text) = bad_token("203.0.113.1");
    assert_eq!(status, 429, "{text}");
    assert!(is_429_problem(&text), "{text}");
    // Another address has its own budget.
    assert_eq!(bad_token("203.0.113.2").0, 401);
    // A good password from the spent address waits too (the check is before the slow hash)…
    let (status, text) = login(&server, "203.0.113.1", &nurse.email, PASSWORD);
    assert!(is_429_problem(&text), "{status} {text}");
    // … while the same account signs in from elsewhere, and a valid token is never limited.
    let (status, text) = login(&server, "203.0.113.3", &nurse.email, PASSWORD);
    assert_eq!(status, 200, "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let token: serde_json::Value = serde_json::from_str(body).expect("token body");
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let (status, _) = request(
        &server,
        "GET",
        "/api/v1/me",
        &[
            ("Authorization", &bearer),
            ("X-Forwarded-For", "203.0.113.1"),
        ],
        "",
    );
    assert_eq!(status, 200);

    // Failed logins spend the same budget: 5 wrong passwords, then 429.
    for _ in 0..5 {
        assert_eq!(
            login(
                &server,
                "203.0.113.4",
                "nobody@example.fr",
                "wrong password!"
            )
            .0,
            401
        );
    }
    let (_, text) = login(
        &server,
        "203.0.113.4",
        "nobody@example.fr",
        "wrong password!",
    );
    assert!(is_429_problem(&text), "{text}");
}

#[actix_web::test]
async fn the_token_endpoints_are_limited_and_a_forged_address_is_not_believed() {
    let app = TestApp::new().await;
    let server = serve(app.database(), &[("SESAME_AUTH_RATE_PER_MINUTE", "10")]);
    // No trusted proxy: every request comes from 127.0.0.1, whatever the header claims.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let (status, text) = request(
            &server,
            "POST",
            "/api/v1/auth/logout",
            &[
                ("Content-Type", "application/json"),
                ("X-Forwarded-For", &format!("198.51.100.{n}")),
            ],
            r#"{"refresh_token":"unknown"}"#,
        );
        if status == 429 {
            assert!(is_429_problem(&text), "{text}");
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..10], &[204; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
}

/// Raw bytes on a connection; everything the server answers until it closes (or 10 s).
fn raw(server: &Server, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.write_all(bytes);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn assert_problem(text: &str, status: u16) {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    assert!(
        head.starts_with(&format!("HTTP/1.1 {status} ")),
        "{status}: {text}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{text}"
    );
    let problem: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(problem["status"], status);
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[actix_web::test]
async fn the_http_parsers_own_errors_are_problem_documents() {
    let app = TestApp::new().await;
    let server = serve(app.database(), &[("SESAME_HEADER_TIMEOUT_SECS", "1")]);
    assert_problem(&raw(&server, b"GARBAGE\r\n\r\n"), 400);
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000));
    assert_problem(&raw(&server, long_url.as_bytes()), 400);
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for n in 0..500 {
        many.push_str(&format!("X-Header-{n}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_problem(&raw(&server, many.as_bytes()), 431);
    // Headers that never finish: 408 once the header timeout passes, and the connection closes.
    let started = Instant::now();
    assert_problem(&raw(&server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"), 408);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "closed by the server"
    );
    // Ordinary answers pass untouched.
    let ok = raw(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
    assert!(ok.ends_with(r#"{"status":"ok"}"#), "{ok}");
}

#[actix_web::test]
async fn a_body_that_does_not_arrive_is_answered_408_and_the_connection_closed() {
    let app = TestApp::new().await;
    let server = serve(app.database(), &[("SESAME_BODY_TIMEOUT_SECS", "1")]);
    // 4 of the 100 bytes announced, then nothing: 408 once the body timeout passes, and the
    // server closes the connection (`raw` would otherwise wait its own 10 s).
    let started = Instant::now();
    let text = raw(
        &server,
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"gr",
    );
    assert_problem(&text, 408);
    assert!(text.contains("request-timeout"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "closed by the server"
    );
    // A body that arrives whole is read as before.
    let (status, text) = request(
        &server,
        "POST",
        "/api/v1/auth/token",
        &[("Content-Type", "application/json")],
        r#"{"grant_type":"password","email":"nobody@example.fr","password":"wrong password!"}"#,
    );
    assert_eq!(status, 401, "{text}");
}

#[actix_web::test]
async fn a_chunked_body_that_stops_is_answered_408_and_the_connection_closed() {
    let app = TestApp::new().await;
    let server = serve(
        app.database(),
        &[
            ("SESAME_BODY_TIMEOUT_SECS", "1"),
            ("SESAME_HEADER_TIMEOUT_SECS", "1"),
        ],
    );
    // One chunk of a chunked body, then nothing: the 408 comes after the body timeout, and the
    // server closes the socket once it has been silent for the idle limit (here 1 + 5 s), where
    // it used to keep it open for as long as the client liked. The same for a request refused
    // before its body is read.
    for request in [
        &b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
           Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n"[..],
        &b"POST /api/v1/practices HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
           Transfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n"[..],
    ] {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
        stream.write_all(request).expect("send");
        let mut out = Vec::new();
        let closed = stream.read_to_end(&mut out).is_ok();
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(closed, "the server kept the connection open: {text}");
        assert!(
            text.starts_with("HTTP/1.1 408 ") || text.starts_with("HTTP/1.1 401 "),
            "{text}"
        );
        let status: u16 = text[9..12].parse().expect("status");
        assert_problem(&text, status);
    }
}
