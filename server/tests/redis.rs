//! Several server instances on one Redis, and what happens when Redis goes away.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::test_redis::{free_port, wait_for_pong};
use common::{redis_server_installed, redis_url, unique_prefix, ServerProcess};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn two_instances_share_users_and_sessions() {
    let Some(url) = redis_url() else { return };
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let prefix = unique_prefix();
    let args = ["--store", url.as_str(), "--redis-prefix", prefix.as_str()];
    let first = ServerProcess::start(first_dir.path(), &args);
    let second = ServerProcess::start(second_dir.path(), &args);

    // A user registered on one instance logs in on the other.
    let mut ada = first.client();
    ada.post_empty("/api/counter/increment").await;
    let anonymous = ada.token.clone();
    let reply = ada
        .post(
            "/api/auth/register",
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let mut on_second = second.client();
    let reply = on_second
        .post(
            "/api/auth/login",
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    // A session made on one is live on the other, and the rotation made by the registration
    // on the first is seen by the second: the pre-login token is dead there too.
    ada.base = second.base.clone();
    common::assert_user(&ada.get("/api/auth/me").await.body, "ada");
    assert_eq!(
        ada.post_empty("/api/counter/increment").await.body,
        json!({"value": 2})
    );
    let mut stale = second.client();
    stale.token = anonymous;
    let reply = stale.get("/api/counter").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["code"], "session_rotated");

    // A logout on one kills the session on both.
    let token = ada.token.clone();
    ada.base = first.base.clone();
    assert_eq!(
        ada.post_empty("/api/auth/logout").await.status,
        StatusCode::NO_CONTENT
    );
    let mut replay = second.client();
    replay.token = token;
    assert_eq!(
        replay.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    common::assert_user(&on_second.get("/api/auth/me").await.body, "ada");
}

/// A Redis server of this test's own, so that it can be stopped and started again.
struct OwnRedis {
    port: u16,
    child: Child,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        wait_for_pong(port);
        OwnRedis { port, child }
    }

    fn stop(mut self) -> u16 {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.port
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_outage_answers_503_quickly_and_the_server_recovers() {
    if !redis_server_installed() {
        return;
    }
    let redis = OwnRedis::start(free_port());
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--store", &url]);
    let mut client = server.client();
    assert_eq!(
        client.post_empty("/api/counter/increment").await.status,
        StatusCode::OK
    );
    let token = client.token.clone();

    let port = redis.stop();
    for path in ["/api/counter", "/api/auth/me"] {
        let started = Instant::now();
        let reply = client.get(path).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(reply.body["detail"].is_string(), "{path}: {}", reply.body);
        assert_eq!(
            reply.session(),
            None,
            "an outage must leave the client's token alone"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(client.token, token);
    let reply = client
        .post(
            "/api/auth/login",
            json!({"username": "nobody", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(client.get("/healthz").await.status, StatusCode::OK);
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.body["detail"].is_string());

    // Redis comes back (empty: this one keeps nothing on disk) and the server serves again.
    let _redis = OwnRedis::start(port);
    let started = Instant::now();
    loop {
        let reply = client.get("/api/counter").await;
        if reply.status == StatusCode::OK {
            assert_eq!(reply.body, json!({"value": 0}));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server did not recover"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reply = client
        .post(
            "/api/auth/register",
            json!({"username": "ada", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    // Readiness is checked at most once a second: it follows within one.
    let started = Instant::now();
    while client.get("/readyz").await.status != StatusCode::OK {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "/readyz stayed 503 after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Redis under memory pressure may evict the index of a user's sessions (it has no expiry of its
/// own while sessions live). "Log out my other devices" must hold all the same.
#[tokio::test]
async fn revoking_other_devices_holds_where_the_index_lost_an_entry() {
    let Some(url) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix();
    let server = ServerProcess::start(
        dir.path(),
        &["--store", url.as_str(), "--redis-prefix", prefix.as_str()],
    );
    let mut laptop = server.client();
    let reply = laptop.register("evicted", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let mut phone = server.client();
    let reply = phone.log_in("evicted", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK);

    let evicted = Command::new("redis-cli")
        .args(["-u", url.as_str(), "DEL"])
        .arg(format!("{prefix}principal:evicted"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&evicted.stdout).trim(), "1");
    let listed = laptop.get("/api/sessions").await.body;
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    assert_eq!(phone.get("/api/auth/me").await.status, StatusCode::OK);

    let reply = laptop.post_empty("/api/sessions/revoke-others").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        phone.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    common::assert_user(&laptop.get("/api/auth/me").await.body, "evicted");
}

#[test]
fn an_unreachable_redis_at_start_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--addr", "127.0.0.1:0", "--store", &url, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach Redis"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
