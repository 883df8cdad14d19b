//! A Redis Cluster losing a master: once its replica takes over, the sessions of that master's
//! slots are served again, with `503` (never `500`) meanwhile, and nothing acknowledged and
//! replicated before the crash is lost.
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::test_redis::{self, Cluster};
use common::Transport;
use cookieless::store::Token;
use cookieless::{RedisStore, SessionLayer};
use serde_json::json;

/// How long the sessions of a failed master may stay unavailable: the cluster's node timeout (1
/// s) for the failure to be agreed, the election, and the store's next look at the topology.
const FAILOVER_BOUND: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_a_killed_master_are_served_again_once_its_replica_takes_over() {
    if !test_redis::server_installed() {
        return;
    }
    let cluster = Cluster::start();
    let prefix = "failover:";
    let store = RedisStore::connect(&cluster.url(), prefix)
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    let app = Transport::Http
        .serve(common::app(SessionLayer::new(store)))
        .await;

    let token = app.send("POST", "/counter", None).await.token();
    for _ in 0..4 {
        assert_eq!(
            app.send("POST", "/counter", Some(&token)).await.status,
            StatusCode::OK
        );
    }
    let key = Token::parse(token.as_bytes()).unwrap().key();
    let name = format!("{prefix}session:{{{}}}", key.to_hex());
    let master = cluster.master_of(&name);
    // Redis replicates asynchronously: what a master acknowledged but had not yet sent to its
    // replica dies with it. Waiting for the replica here makes what the test expects exact.
    // Five writes: the session's record is at version 5.
    cluster.wait_for_replica_to_hold(master, &name, 5);
    cluster.kill(master);

    let killed = Instant::now();
    let mut unavailable = 0;
    loop {
        let reply = app.send("GET", "/counter", Some(&token)).await;
        match reply.status {
            StatusCode::OK => {
                assert_eq!(
                    reply.body,
                    json!({"value": 5}),
                    "a replicated write was lost"
                );
                break;
            }
            StatusCode::SERVICE_UNAVAILABLE => unavailable += 1,
            other => panic!("answered {other} during the failover: {:?}", reply.body),
        }
        assert!(
            killed.elapsed() < FAILOVER_BOUND,
            "the session was not served again within {FAILOVER_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "served again {:?} after the kill, {unavailable} requests answered 503 meanwhile",
        killed.elapsed()
    );
    let posted = Instant::now();
    let reply = app.send("POST", "/counter", Some(&token)).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{:?} after {:?}",
        reply.body,
        posted.elapsed()
    );
    assert_eq!(reply.body, json!({"value": 6}));
}
