//! A client that carries the session the way the SPA does, and ways to start the server.
#![allow(dead_code)]

// The library's tests and these find, start or skip Redis the same way.
#[path = "../../../cookieless/tests/common/test_redis.rs"]
pub mod test_redis;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn session(&self) -> Option<&str> {
        self.headers
            .get("x-session")
            .map(|value| value.to_str().unwrap())
    }
}

/// Holds a token as the SPA's fetch wrapper does: sends it on every request, replaces it with
/// the one a response carries, forgets it when a response says so.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

/// A client that names itself, as a browser on some device would.
pub fn client_as(base: &str, user_agent: &str) -> Client {
    Client {
        base: base.trim_end_matches('/').to_string(),
        token: None,
        http: reqwest::Client::builder()
            .user_agent(user_agent)
            .build()
            .unwrap(),
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            base: base.trim_end_matches('/').to_string(),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn post_empty(&mut self, path: &str) -> Reply {
        self.send(Method::POST, path, None).await
    }

    /// Registers `username` with `password`, keeping the session the answer hands out.
    pub async fn register(&mut self, username: &str, password: &str) -> Reply {
        let credentials = serde_json::json!({"username": username, "password": password});
        self.post("/api/auth/register", credentials).await
    }

    /// Logs in as `username` with `password`, keeping the session the answer hands out.
    pub async fn log_in(&mut self, username: &str, password: &str) -> Reply {
        let credentials = serde_json::json!({"username": username, "password": password});
        self.post("/api/auth/login", credentials).await
    }

    pub async fn send(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("x-session", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = read(request.send().await.unwrap()).await;
        match reply.session() {
            Some("") => self.token = None,
            Some(token) => self.token = Some(token.to_string()),
            None => {}
        }
        reply
    }

    /// The body of `GET path` as text, for pages that are not JSON.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.text().await.unwrap()
    }

    /// Sends a request built by hand, with no token unless the builder adds one.
    pub async fn raw(
        &self,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Reply {
        read(build(&self.http, &self.base).send().await.unwrap()).await
    }
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    assert!(headers.get(SET_COOKIE).is_none(), "the server set a cookie");
    if headers.contains_key("x-session") {
        assert_eq!(headers[CACHE_CONTROL], "no-store");
    }
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

/// The Redis server the tests share: `REDIS_URL`, or a throwaway one this test binary starts;
/// `None` once the test is reported skipped for want of either.
pub fn redis_url() -> Option<String> {
    test_redis::url()
}

/// The Redis Cluster the tests share (`redis+cluster://...`): `REDIS_CLUSTER_URL`, or a
/// throwaway one this test binary starts; `None` once the test is reported skipped.
pub fn redis_cluster_url() -> Option<String> {
    test_redis::cluster_url()
}

/// Whether `redis-server` can be run, for a test that starts and stops its own; a test told no
/// is reported skipped.
pub fn redis_server_installed() -> bool {
    test_redis::server_installed()
}

/// A Redis key prefix no other test uses.
pub fn unique_prefix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "test:{}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The real server binary, stopped when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    /// Starts the server on a free loopback port with `args`, and waits until it listens.
    pub fn start(data_dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("Serving the demo at ")
            .unwrap_or_else(|| panic!("the server did not start: {line:?}"))
            .trim_end_matches('/')
            .to_string();
        ServerProcess { child, base }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the server exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop within 5 s of SIGTERM");
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that `body` is the answer of a login, a registration or `GET /api/auth/me` for
/// `username`, whose login ends after the default absolute timeout (30 days) at most.
#[track_caller]
pub fn assert_user(body: &serde_json::Value, username: &str) {
    assert_eq!(body["username"], username, "{body}");
    let ends_in = body["login_ends_in"].as_u64().expect("login_ends_in");
    let thirty_days = 30 * 86_400;
    assert!(
        (thirty_days - 600..=thirty_days).contains(&ends_in),
        "a login that ends in {ends_in} s"
    );
    assert_eq!(
        body.as_object().map(|fields| fields.len()),
        Some(2),
        "{body}"
    );
}
