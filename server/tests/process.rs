//! The real server binary: restarts, `kill -9`, flags, the SPA's files, CORS.

mod common;

use std::time::Duration;

use common::ServerProcess;
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ORIGIN};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn a_session_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut client = server.client();
    client.post_empty("/api/counter/increment").await;
    let reply = client
        .post(
            "/api/auth/register",
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    client.post_empty("/api/counter/increment").await;
    server.stop();

    let server = ServerProcess::start(dir.path(), &[]);
    client.base = server.base.clone();
    common::assert_user(&client.get("/api/auth/me").await.body, "ada");
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 2}));
    let mut again = server.client();
    let reply = again
        .post(
            "/api/auth/login",
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "the user was lost");
}

#[tokio::test]
async fn every_answered_change_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut client = server.client();
    let reply = client
        .post(
            "/api/auth/register",
            json!({"username": "grace", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    // Many clients change their sessions at once; the process dies the moment the last answer
    // arrives, with no chance to flush.
    let mut clients: Vec<_> = (0..16).map(|_| server.client()).collect();
    let mut handles = Vec::new();
    for mut visitor in clients.drain(..) {
        handles.push(tokio::spawn(async move {
            for _ in 0..5 {
                visitor.post_empty("/api/counter/increment").await;
            }
            visitor
        }));
    }
    let mut visitors = Vec::new();
    for handle in handles {
        visitors.push(handle.await.unwrap());
    }
    assert_eq!(
        client.post_empty("/api/counter/increment").await.body,
        json!({"value": 1})
    );
    server.kill();

    let server = ServerProcess::start(dir.path(), &[]);
    client.base = server.base.clone();
    common::assert_user(&client.get("/api/auth/me").await.body, "grace");
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 1}));
    for mut visitor in visitors {
        visitor.base = server.base.clone();
        assert_eq!(visitor.get("/api/counter").await.body, json!({"value": 5}));
    }
}

#[tokio::test]
async fn a_logout_before_kill_9_stays_a_logout() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut client = server.client();
    client
        .post(
            "/api/auth/register",
            json!({"username": "linus", "password": PASSWORD}),
        )
        .await;
    let token = client.token.clone();
    client.post_empty("/api/auth/logout").await;
    server.kill();

    let server = ServerProcess::start(dir.path(), &[]);
    let mut replay = server.client();
    replay.token = token;
    assert_eq!(
        replay.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_memory_store_forgets_everything_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--store", "memory"]);
    let mut client = server.client();
    client
        .post(
            "/api/auth/register",
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(client.get("/api/auth/me").await.status, StatusCode::OK);
    server.stop();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "memory mode wrote files"
    );

    let server = ServerProcess::start(dir.path(), &["--store", "memory"]);
    client.base = server.base.clone();
    assert_eq!(
        client.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn idle_sessions_end_after_the_configured_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // A real process keeps real time: the margins are wide so that a loaded machine's slow
    // request cannot be mistaken for a wrong timeout.
    let server = ServerProcess::start(dir.path(), &["--idle-timeout", "3s"]);
    let mut client = server.client();
    client.post_empty("/api/counter/increment").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 1}));
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 0}));
    assert_eq!(client.token, None);
}

#[tokio::test]
async fn the_spa_is_served_with_a_fallback_for_client_routes() {
    let data = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><title>demo</title><script type=\"module\">boot()</script>",
    )
    .unwrap();
    std::fs::write(site.path().join("app.js"), "console.log('demo')").unwrap();
    let static_dir = site.path().to_str().unwrap();
    let server = ServerProcess::start(
        data.path(),
        &[
            "--static-dir",
            static_dir,
            "--frame-ancestor",
            "https://partner.example",
        ],
    );
    let http = reqwest::Client::new();
    // sha256("boot()"), base64: the one inline script the page may run.
    let boot_hash = "'sha256-MeZS89WlF0u+o0hCvHTBt4q1WHU+U+sJKgbdRUc36mY='";
    for (path, expected, document) in [
        ("/", "<title>demo</title>", true),
        ("/login", "<title>demo</title>", true),
        ("/deep/client/route", "<title>demo</title>", true),
        ("/app.js", "console.log", false),
    ] {
        let response = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        let policy = response.headers().get("content-security-policy");
        if document {
            let policy = policy.unwrap().to_str().unwrap();
            assert!(
                policy.contains(&format!(
                    "script-src 'self' 'wasm-unsafe-eval' {boot_hash};"
                )),
                "{policy}"
            );
            assert!(policy.contains("frame-ancestors https://partner.example"));
            assert!(!policy.contains("unsafe-inline"));
        } else {
            assert_eq!(
                policy.unwrap(),
                "frame-ancestors https://partner.example",
                "{path} has a document's policy"
            );
        }
        assert!(response.text().await.unwrap().contains(expected), "{path}");
    }
    let mut client = server.client();
    let reply = client.get("/api/nothing").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body, json!({"detail": "Not found."}));
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 0}));
}

#[test]
fn bad_flags_and_a_missing_spa_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--cors-origin", "*"],
        vec!["--idle-timeout", "forever"],
        vec!["--static-dir", "/nonexistent/spa"],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} started a server");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn only_configured_origins_may_use_the_api_cross_origin() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--cors-origin",
            "http://localhost:8080",
            "--cors-origin",
            "http://127.0.0.1:8080",
        ],
    );
    let http = reqwest::Client::new();
    let allowed = http
        .post(format!("{}/api/counter/increment", server.base))
        .header(ORIGIN, "http://localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:8080"
    );
    let exposed = allowed.headers()[ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-session"));
    assert!(allowed.headers().contains_key("x-session"));
    // Browsers may keep a preflight's answer, rather than ask before every call.
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/counter/increment", server.base),
        )
        .header(ORIGIN, "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-session")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.headers()["access-control-max-age"], "600");

    let denied = http
        .post(format!("{}/api/counter/increment", server.base))
        .header(ORIGIN, "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(denied.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn malformed_and_repeated_headers_are_4xx_over_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut client = server.client();
    client.post_empty("/api/counter/increment").await;
    let token = client.token.clone().unwrap();

    let twice = client
        .raw(|http, base| {
            http.get(format!("{base}/api/counter"))
                .header("x-session", &token)
                .header("x-session", &token)
        })
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert!(twice.body["detail"].is_string());

    let huge = "A".repeat(8 * 1024);
    let oversized = client
        .raw(|http, base| {
            http.get(format!("{base}/api/counter"))
                .header("x-session", &huge)
        })
        .await;
    assert_eq!(
        oversized.status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );

    let garbage = client
        .raw(|http, base| {
            http.get(format!("{base}/api/counter"))
                .header("x-session", "'; DROP TABLE sessions; --")
        })
        .await;
    assert_eq!(garbage.status, StatusCode::OK);
    assert_eq!(garbage.session(), Some(""));
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 1}));
}
