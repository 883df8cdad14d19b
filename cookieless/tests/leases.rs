//! Requests on one session serialised across instances that share a Redis store (one server, and
//! a cluster): each instance here is a layer over a store of its own connections, as two server
//! processes would be, sharing nothing but Redis.
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::Extension;
use common::{test_redis, Gate, Target, Transport};
use cookieless::store::{LeaseId, Leased, SessionLeases, SessionStore, Token};
use cookieless::{RedisStore, SessionLayer};
use serde_json::json;

/// Runs each case once on the tests' Redis server and once on their cluster, given the URL.
macro_rules! on_server_and_cluster {
    ($($case:ident),* $(,)?) => {
        mod server {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(url) = super::test_redis::url() else { return };
                super::$case(&url).await
            })*
        }
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(url) = super::test_redis::cluster_url() else { return };
                super::$case(&url).await
            })*
        }
    };
}

on_server_and_cluster!(
    fifty_increments_over_two_instances_end_at_fifty,
    a_request_waits_while_another_instance_holds_its_session,
    a_session_held_past_the_wait_is_answered_503_with_retry_after,
    a_lease_left_by_a_dead_instance_runs_out,
    a_request_that_never_uses_its_session_does_not_wait,
    a_request_whose_lease_ran_out_waits_for_the_new_holder_and_replays,
    a_long_request_keeps_its_lease_past_the_deadline,
);

/// A session held by a request paused on a first instance between its load and its write, and a
/// second instance (its layer as `second_layer` makes it) to act on the session meanwhile.
struct Held {
    first: Target,
    second: Target,
    token: String,
    gate: Gate,
    slow: tokio::task::JoinHandle<common::Reply>,
}

async fn held(url: &str, second_layer: impl FnOnce(SessionLayer) -> SessionLayer) -> Held {
    held_by(url, |store| store, second_layer).await
}

/// [`held`], with the first instance's store as `first_store` makes it.
async fn held_by(
    url: &str,
    first_store: impl FnOnce(RedisStore) -> RedisStore,
    second_layer: impl FnOnce(SessionLayer) -> SessionLayer,
) -> Held {
    let prefix = prefix();
    let gate = Gate::default();
    let first = instance(
        SessionLayer::new(first_store(store(url, &prefix).await)),
        Some(gate.clone()),
    )
    .await;
    let second_layer = second_layer(SessionLayer::new(store(url, &prefix).await));
    let second = instance(second_layer, None).await;
    let token = first.send("POST", "/counter", None).await.token();
    let slow = {
        let (first, token) = (first.clone(), token.clone());
        tokio::spawn(async move { first.send("POST", "/set-later/a", Some(&token)).await })
    };
    gate.loaded().await;
    Held {
        first,
        second,
        token,
        gate,
        slow,
    }
}

/// A key prefix of the calling test's own.
fn prefix() -> String {
    format!("test:{}:", &Token::generate().as_str()[..12])
}

async fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::connect(url, prefix).await.unwrap()
}

/// An instance of the protocol tests' app over its own connections to Redis, served on loopback.
async fn instance(layer: SessionLayer, gate: Option<Gate>) -> Target {
    let app = common::app(layer);
    let app = match gate {
        Some(gate) => app.layer(Extension(gate)),
        None => app,
    };
    Transport::Http.serve(app).await
}

async fn fifty_increments_over_two_instances_end_at_fifty(url: &str) {
    let prefix = prefix();
    let first = instance(SessionLayer::new(store(url, &prefix).await), None).await;
    let second = instance(SessionLayer::new(store(url, &prefix).await), None).await;
    // A session without a counter yet, so that the fifty increments end at exactly fifty.
    let token = first.send("POST", "/set/b", None).await.token();
    assert_eq!(
        second.send("GET", "/counter", Some(&token)).await.body,
        json!({"value": 0})
    );

    let requests: Vec<_> = (0..50)
        .map(|i| {
            let app = if i % 2 == 0 { &first } else { &second }.clone();
            let token = token.clone();
            tokio::spawn(async move { app.send("POST", "/slow-increment", Some(&token)).await })
        })
        .collect();
    let mut values = Vec::new();
    for request in requests {
        let reply = request.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        values.push(reply.body["value"].as_u64().unwrap());
    }
    values.sort();
    assert_eq!(
        values,
        (1..=50).collect::<Vec<_>>(),
        "every increment saw the one before it, whichever instance made it"
    );
    assert_eq!(
        first.send("GET", "/counter", Some(&token)).await.body,
        json!({"value": 50})
    );
}

async fn a_request_waits_while_another_instance_holds_its_session(url: &str) {
    let held = held(url, |layer| layer).await;
    waits_then_both_land(
        held,
        Duration::from_millis(300),
        "the second instance did not wait",
    )
    .await;
}

/// Sends a write to the second instance while the first holds the session, checks it is still
/// waiting after `pause`, then lets the first go: both land, in turn.
async fn waits_then_both_land(held: Held, pause: Duration, not_waiting: &str) {
    let Held {
        first,
        second,
        token,
        gate,
        slow,
    } = held;
    let waiting = {
        let token = token.clone();
        tokio::spawn(async move { second.send("POST", "/set/b", Some(&token)).await })
    };
    tokio::time::sleep(pause).await;
    assert!(!waiting.is_finished(), "{not_waiting}");
    gate.open();
    assert_eq!(slow.await.unwrap().status, StatusCode::NO_CONTENT);
    assert_eq!(waiting.await.unwrap().status, StatusCode::NO_CONTENT);
    assert_eq!(
        first.send("GET", "/keys", Some(&token)).await.body,
        json!(["a", "b", "counter"])
    );
}

async fn a_session_held_past_the_wait_is_answered_503_with_retry_after(url: &str) {
    let Held {
        first: _,
        second,
        token,
        gate,
        slow,
    } = held(url, |layer| {
        layer.with_lease_wait(Duration::from_millis(200))
    })
    .await;

    let refused = second.send("POST", "/set/b", Some(&token)).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(refused.body["detail"].as_str().unwrap().contains("busy"));
    assert_eq!(refused.session(), None, "the client keeps its token");

    gate.open();
    assert_eq!(slow.await.unwrap().status, StatusCode::NO_CONTENT);
    assert_eq!(
        second.send("GET", "/keys", Some(&token)).await.body,
        json!(["a", "counter"]),
        "the refused request changed nothing"
    );
}

async fn a_lease_left_by_a_dead_instance_runs_out(url: &str) {
    let prefix = prefix();
    let deadline = Duration::from_millis(600);
    let survivor = instance(SessionLayer::new(store(url, &prefix).await), None).await;
    let token = survivor.send("POST", "/counter", None).await.token();

    // An instance takes the lease, then dies without releasing it: its store (and the task that
    // renews its leases) is gone.
    let dead = store(url, &prefix).await.with_lease_deadline(deadline);
    let key = Token::parse(token.as_bytes()).unwrap().key();
    let taken = dead
        .load_leased(&key, LeaseId::generate(), Duration::ZERO)
        .await
        .unwrap();
    assert!(matches!(taken, Leased::Granted(Some(_))));
    drop(dead);

    let started = Instant::now();
    let reply = survivor.send("POST", "/counter", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"value": 2}));
    let blocked = started.elapsed();
    assert!(
        blocked >= deadline / 2,
        "the request did not wait for the dead lease ({blocked:?}): it was not held"
    );
    assert!(
        blocked < deadline + Duration::from_millis(500),
        "the session stayed blocked for {blocked:?}"
    );
}

async fn a_request_that_never_uses_its_session_does_not_wait(url: &str) {
    let Held {
        first: _,
        second,
        token,
        gate,
        slow,
    } = held(url, |layer| layer).await;

    let started = Instant::now();
    let reply = second.send("GET", "/untouched", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.session(),
        Some(token.as_str()),
        "told its token is live"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "it waited {:?} for a session it never used",
        started.elapsed()
    );
    gate.open();
    assert_eq!(slow.await.unwrap().status, StatusCode::NO_CONTENT);
}

/// Deletes `key` through `redis-cli`, as Redis does when a lease's deadline passes.
fn expire_now(url: &str, key: &str) {
    let node = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split([',', '/']).next())
        .expect("a host and port in the URL");
    let (host, port) = node.rsplit_once(':').expect("host:port");
    let deleted = std::process::Command::new("redis-cli")
        .args(["-c", "-h", host, "-p", port, "DEL", key])
        .output()
        .expect("redis-cli runs");
    assert_eq!(
        String::from_utf8_lossy(&deleted.stdout).trim(),
        "1",
        "no lease to delete"
    );
}

async fn a_request_whose_lease_ran_out_waits_for_the_new_holder_and_replays(url: &str) {
    let prefix = prefix();
    let (first_gate, second_gate) = (Gate::default(), Gate::default());
    let first = instance(
        SessionLayer::new(store(url, &prefix).await),
        Some(first_gate.clone()),
    )
    .await;
    let second = instance(
        SessionLayer::new(store(url, &prefix).await),
        Some(second_gate.clone()),
    )
    .await;
    let observer = store(url, &prefix).await;
    let token = first.send("POST", "/counter", None).await.token();
    let key = Token::parse(token.as_bytes()).unwrap().key();
    let send_later = |app: &Target, path: &'static str| {
        let (app, token) = (app.clone(), token.clone());
        tokio::spawn(async move { app.send("POST", path, Some(&token)).await })
    };

    let late = send_later(&first, "/set-later/a");
    first_gate.loaded().await;
    // The first request's lease runs out (a pause longer than its deadline), and a request on
    // the second instance takes the session.
    expire_now(url, &format!("{prefix}lease:{{{}}}", key.to_hex()));
    let holder = send_later(&second, "/set-later/b");
    second_gate.loaded().await;

    first_gate.open();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !late.is_finished(),
        "the late request did not wait for the new holder"
    );
    let stored = observer.load(&key).await.unwrap().expect("the session");
    assert_eq!(
        stored.version, 1,
        "the late request wrote under a lease it had lost"
    );

    second_gate.open();
    assert_eq!(holder.await.unwrap().status, StatusCode::NO_CONTENT);
    assert_eq!(late.await.unwrap().status, StatusCode::NO_CONTENT);
    assert_eq!(
        first.send("GET", "/keys", Some(&token)).await.body,
        json!(["a", "b", "counter"]),
        "the late request's change was replayed onto the holder's"
    );
}

async fn a_long_request_keeps_its_lease_past_the_deadline(url: &str) {
    let deadline = Duration::from_millis(300);
    let held = held_by(
        url,
        |store| store.with_lease_deadline(deadline),
        |layer| layer,
    )
    .await;
    // Four deadlines: the lease lives only because the first instance keeps renewing it.
    waits_then_both_land(
        held,
        deadline * 4,
        "another instance got in while a long request held the session",
    )
    .await;
}
