//! Several instances of the real server on one Redis and on a Redis Cluster: one session's
//! requests run one after another across all of them, and an instance that dies holding a
//! session keeps it from the others no longer than the lease deadline.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{redis_cluster_url, redis_url, unique_prefix, Client, ServerProcess};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_increments_over_two_instances_all_count_on_one_redis() {
    let Some(url) = redis_url() else { return };
    fifty_increments_over_two_instances_all_count(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_increments_over_two_instances_all_count_on_a_cluster() {
    let Some(url) = redis_cluster_url() else {
        return;
    };
    fifty_increments_over_two_instances_all_count(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_holding_a_session_blocks_it_only_until_the_deadline() {
    let Some(url) = redis_cluster_url() else {
        return;
    };
    let deadline = Duration::from_secs(1);
    let (dirs, prefix) = (
        [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()],
        unique_prefix(),
    );
    let args = [
        "--store",
        url.as_str(),
        "--redis-prefix",
        prefix.as_str(),
        "--session-lease-deadline",
        "1s",
    ];
    let doomed = ServerProcess::start(dirs[0].path(), &args);
    let survivor = ServerProcess::start(dirs[1].path(), &args);
    let mut ada = survivor.client();
    assert_eq!(
        ada.register("ada", PASSWORD).await.status,
        StatusCode::CREATED
    );
    let token = ada.token.clone().expect("a session");

    // A write with a token has its session loaded, and leased, before its body is read: this
    // one's body never finishes arriving, so the doomed instance holds the session until killed.
    let address = doomed.base.trim_start_matches("http://").to_string();
    let mut stuck = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stuck,
        "POST /api/notes HTTP/1.1\r\nHost: {address}\r\nX-Session: {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\""
    )
    .unwrap();
    stuck.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Instant::now();
    doomed.kill();

    let reply = ada.get("/api/auth/me").await;
    let blocked = killed.elapsed();
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    common::assert_user(&reply.body, "ada");
    assert!(
        blocked >= Duration::from_millis(200),
        "the session was not held at all ({blocked:?}): the test proves nothing"
    );
    assert!(
        blocked < deadline + Duration::from_millis(700),
        "the dead instance held the session for {blocked:?}"
    );
    drop(stuck);
}

async fn fifty_increments_over_two_instances_all_count(url: &str) {
    let (dirs, prefix) = (
        [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()],
        unique_prefix(),
    );
    let args = ["--store", url, "--redis-prefix", prefix.as_str()];
    let first = ServerProcess::start(dirs[0].path(), &args);
    let second = ServerProcess::start(dirs[1].path(), &args);
    // A logged-in user: the session exists before the first increment, so the fifty below end
    // at exactly fifty.
    let mut visitor = first.client();
    assert_eq!(
        visitor.register("ada", PASSWORD).await.status,
        StatusCode::CREATED
    );
    let token = visitor.token.clone();

    let requests: Vec<_> = (0..50)
        .map(|i| {
            let mut client: Client = if i % 2 == 0 { &first } else { &second }.client();
            client.token = token.clone();
            tokio::spawn(async move { client.post_empty("/api/counter/increment").await })
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
        "each increment saw the one before it, whichever instance made it"
    );
    visitor.base = second.base.clone();
    assert_eq!(visitor.get("/api/counter").await.body, json!({"value": 50}));

    // Each instance's own requests queue in the instance; only one waiting on the other's lease
    // counts: with 25 at each at once, some must have.
    let mut lease_waits = 0.0;
    for instance in [&first, &second] {
        let page = instance.client().get_text("/metrics").await;
        lease_waits += page
            .lines()
            .filter(|line| line.starts_with("cookieless_lease_waits_total"))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum::<f64>();
    }
    assert!(
        lease_waits > 0.0,
        "no request waited for the other instance's lease"
    );
}
