//! `/metrics`: what an operator scrapes, and that it tells nothing about who uses the app.

mod common;

use common::test_redis::free_port;
use common::{redis_url, unique_prefix, ServerProcess};
use reqwest::StatusCode;

const PASSWORD: &str = "correct horse battery";

/// The value of the sample `name{labels}` in a Prometheus text page, if it is there.
fn sample(page: &str, name_and_labels: &str) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let labels_match = name_and_labels
                .split(['{', '}', ','])
                .filter(|part| !part.is_empty())
                .all(|part| series.contains(part));
            (series.starts_with(name_and_labels.split('{').next()?) && labels_match)
                .then(|| value.parse().ok())
                .flatten()
        })
}

#[tokio::test]
async fn metrics_count_sessions_and_store_calls_and_name_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--store", "memory"]);
    let mut ada = server.client();
    ada.post_empty("/api/counter/increment").await;
    assert_eq!(
        ada.register("ada", PASSWORD).await.status,
        StatusCode::CREATED
    );
    ada.post_empty("/api/counter/increment").await;
    let token_seen = ada.token.clone().expect("a logged-in session");
    // Another device, then logged out from this one.
    let mut phone = server.client();
    assert_eq!(phone.log_in("ada", PASSWORD).await.status, StatusCode::OK);
    assert_eq!(
        ada.post_empty("/api/sessions/revoke-others").await.status,
        StatusCode::NO_CONTENT
    );
    ada.post_empty("/api/auth/logout").await;

    let page = server.client().get_text("/metrics").await;
    let count =
        |series: &str| sample(&page, series).unwrap_or_else(|| panic!("no {series} in:\n{page}"));
    // The visitor's session, and the phone's (a login without a session rotates none).
    assert_eq!(
        count(r#"cookieless_sessions_created_total{store="MemoryStore"}"#),
        2.0
    );
    assert_eq!(
        count(r#"cookieless_sessions_rotated_total{store="MemoryStore"}"#),
        1.0
    );
    assert_eq!(
        count(r#"cookieless_sessions_ended_total{reason="logout"}"#),
        1.0
    );
    assert_eq!(
        count(r#"cookieless_sessions_ended_total{reason="revoked"}"#),
        1.0
    );
    assert!(count(r#"cookieless_loads_total{outcome="hit"}"#) >= 2.0);
    assert!(count(r#"cookieless_saves_total{outcome="written"}"#) >= 3.0);
    assert!(
        page.contains(
            r#"cookieless_store_call_seconds_bucket{store="MemoryStore",call="load",le="0.001"}"#
        ),
        "store latency is a histogram:\n{page}"
    );
    assert!(!page.contains("ada"), "a user name in the metrics");
    assert!(!page.contains("127.0.0.1"), "an address in the metrics");
    assert!(!page.contains(&token_seen[..16]), "a token in the metrics");
}

#[tokio::test]
async fn metrics_addr_moves_metrics_off_the_app() {
    let Some(url) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let prefix = unique_prefix();
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--store",
            &url,
            "--redis-prefix",
            &prefix,
            "--metrics-addr",
            &metrics_addr,
        ],
    );
    let mut visitor = server.client();
    visitor.post_empty("/api/counter/increment").await;
    assert_eq!(visitor.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let page = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(
            &page,
            r#"cookieless_sessions_created_total{store="RedisStore"}"#
        ),
        Some(1.0),
        "{page}"
    );
}
