//! The real server binary against hostile traffic, each defence as an attacker would meet it:
//! floods of new sessions and of logins, connections that never finish their headers, logins
//! racing a password change, a damaged database. Bounded in count and time, on loopback only.

mod common;

use std::time::{Duration, Instant};

use common::{Client, ServerProcess};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn a_flood_of_tokenless_writes_gets_429_and_stores_at_most_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut visitor = server.client();
    visitor.post_empty("/api/counter/increment").await;
    let http = reqwest::Client::new();
    let (mut stored, mut refused) = (0, 0);
    let started = Instant::now();
    for _ in 0..300 {
        let response = http
            .post(format!("{}/api/counter/increment", server.base))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => {
                assert!(response.headers().contains_key("x-session"));
                stored += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                assert!(!response.headers().contains_key("x-session"));
                let body: serde_json::Value = response.json().await.unwrap();
                assert!(body["detail"].is_string());
                refused += 1;
            }
            other => panic!("a flood request got {other}"),
        }
    }
    // The burst of 120 (less the visitor's), and one more for each second the flood took.
    let refilled = started.elapsed().as_secs() + 1;
    assert!(stored >= 119, "only {stored} sessions were allowed");
    assert!(
        stored <= 120 + refilled,
        "{stored} sessions in {:?}",
        started.elapsed()
    );
    assert_eq!(stored + refused, 300);
    // A visitor whose session began before the flood, from the same address, is not held back.
    assert_eq!(
        visitor.post_empty("/api/counter/increment").await.body,
        json!({"value": 2})
    );
}

/// Logins of unknown users, each from an address of its own (the server trusts the header, as
/// behind a proxy), so that only the bound on hashing stands in their way.
#[tokio::test]
async fn a_login_flood_is_refused_at_once_beyond_the_hashing_bound() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--hashing-threads",
            "2",
            "--hashing-queue",
            "4",
            "--client-ip-header",
            "X-Forwarded-For",
        ],
    );
    let http = reqwest::Client::new();
    let flood: Vec<_> = (0..200u32)
        .map(|n| {
            let request = http
                .post(format!("{}/api/auth/login", server.base))
                .header("x-forwarded-for", format!("198.51.{}.{}", n / 250, n % 250))
                .json(&json!({"username": format!("nobody{n}"), "password": "guess guess"}));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let retry_after = response.headers().contains_key("retry-after");
                (response.status(), retry_after)
            })
        })
        .collect();
    // Meanwhile, other requests are answered quickly.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let asked = Instant::now();
        let response = http
            .get(format!("{}/api/counter", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        slowest = slowest.max(asked.elapsed());
    }
    let (mut checked, mut busy) = (0, 0);
    for login in flood {
        match login.await.unwrap() {
            (StatusCode::UNAUTHORIZED, _) => checked += 1,
            (StatusCode::SERVICE_UNAVAILABLE, retry_after) => {
                assert!(retry_after, "a 503 without Retry-After");
                busy += 1;
            }
            (other, _) => panic!("a flood login got {other}"),
        }
    }
    assert!(busy > 0, "200 logins at once were all hashed");
    assert!(checked >= 6, "only {checked} logins were checked");
    assert!(slowest < Duration::from_secs(1), "a read took {slowest:?}");
    let peak = peak_memory_kib(&server);
    // Two hashes of 19 MiB at a time, over a server that idles at about 40 MiB (debug build):
    // about 80 MiB, however many logins come.
    assert!(peak < 160 * 1024, "peak memory {peak} KiB");
}

/// The most memory the server process has held, in KiB (VmHWM).
fn peak_memory_kib(server: &ServerProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Whether the server closes `stream` within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // Whatever the server says before it closes (a 408, say) is fine.
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn connections_stuck_mid_header_are_dropped_and_others_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &["--header-timeout", "1s", "--max-connections", "16"],
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stuck = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        stuck.push(stream);
    }
    let opened = Instant::now();
    let reply = Client::new(&server.base).get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    for stream in &mut stuck {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "a connection stuck mid-header was kept"
        );
    }
    assert!(
        opened.elapsed() >= Duration::from_millis(900),
        "dropped before the header timeout"
    );

    // A kept-alive connection that sends nothing more is closed too.
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 512];
    let read = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
}

#[tokio::test]
async fn beyond_the_connection_limit_clients_wait_rather_than_fail() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &["--header-timeout", "1s", "--max-connections", "4"],
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stuck = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        stuck.push(stream);
    }
    // Served once the stuck ones are dropped for their header timeout.
    let asked = Instant::now();
    let reply = Client::new(&server.base).get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        asked.elapsed() >= Duration::from_millis(500),
        "a fifth connection was served while four held every slot"
    );
}

#[tokio::test]
async fn one_client_cannot_hold_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--header-timeout",
            "5s",
            "--max-connections-per-client",
            "2",
        ],
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    // A third from the same address is closed at once, long before the header timeout.
    let mut third = TcpStream::connect(&address).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(closed_within(&mut third, Duration::from_secs(2)).await);
    // Once one is given back, the client is served again.
    drop(held.pop());
    let mut served = None;
    for _ in 0..50 {
        let reply = reqwest::get(format!("{}/healthz", server.base)).await;
        if let Ok(reply) = reply {
            served = Some(reply.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(served, Some(StatusCode::OK));
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_gets_408_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--body-timeout", "1s"]);
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let asked = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    // Keep trickling, as a slow client would, until the server answers.
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                let read = read.unwrap();
                answer.extend_from_slice(&buffer[..read]);
                if read == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                let _ = stream.write_all(b" ").await;
            }
        }
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "no answer to a trickled body"
        );
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // An answer like any other: the security headers are there.
    assert!(
        answer.contains("x-content-type-options: nosniff"),
        "{answer}"
    );
    assert!(asked.elapsed() >= Duration::from_millis(900));
}

/// Each round, a user changes their password while ten logins with the old one are in flight.
/// Whatever order they land in, no session made with the old password may outlive the change.
#[tokio::test]
async fn logins_racing_a_password_change_leave_no_survivor() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--client-ip-header",
            "X-Forwarded-For",
            "--new-sessions-per-minute",
            "0",
        ],
    );
    let http = reqwest::Client::new();
    let mut survivors = 0;
    let mut raced = 0;
    for round in 0..8 {
        let username = format!("racer{round}");
        let mut owner = Client::new(&server.base);
        let reply = owner.register(&username, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        let logins: Vec<_> = (0..10)
            .map(|n| {
                let request = http
                    .post(format!("{}/api/auth/login", server.base))
                    .header("x-forwarded-for", format!("203.0.113.{}", round * 10 + n))
                    .json(&json!({"username": username, "password": PASSWORD}));
                tokio::spawn(async move {
                    let response = request.send().await.unwrap();
                    let status = response.status();
                    let token = response
                        .headers()
                        .get("x-session")
                        .map(|value| value.to_str().unwrap().to_string());
                    (status, token)
                })
            })
            .collect();
        let changed = owner
            .post(
                "/api/auth/password",
                json!({"current_password": PASSWORD, "new_password": "the new password"}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::NO_CONTENT);
        for login in logins {
            let (status, token) = login.await.unwrap();
            if status != StatusCode::OK {
                continue;
            }
            raced += 1;
            let mut old = Client::new(&server.base);
            old.token = token;
            if old.get("/api/auth/me").await.status != StatusCode::UNAUTHORIZED {
                survivors += 1;
            }
        }
        common::assert_user(&owner.get("/api/auth/me").await.body, &username);
    }
    assert!(
        raced > 0,
        "no login with the old password got through: nothing raced"
    );
    assert_eq!(
        survivors, 0,
        "{survivors} of {raced} old-password sessions survived"
    );
}

#[tokio::test]
async fn a_damaged_database_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let mut client = server.client();
    let reply = client.register("ada", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    server.stop();

    for name in ["conf", "db"] {
        let path = dir.path().join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        for byte in bytes.iter_mut().take(64) {
            *byte ^= 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
    }
    let before = snapshot(dir.path());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the server started over a damaged database"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "the damaged files were changed"
    );
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// A tmpfs of its own, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this machine does not let the test mount one (it needs root).
    fn mount(megabytes: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn available(&self) -> u64 {
        let output = std::process::Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(self.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .and_then(|line| line.trim().parse().ok())
            .unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount(48) else {
        eprintln!("SKIPPED a_full_disk_refuses_writes...: cannot mount a tmpfs here (not root?)");
        return;
    };
    let data = disk.path().join("data");
    let args = ["--min-free-disk-mib", "8"];
    let server = ServerProcess::start(&data, &args);
    let mut client = server.client();
    let reply = client.register("filled", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    for _ in 0..3 {
        client.post_empty("/api/counter/increment").await;
    }

    // Something else fills the disk, down to a few MiB: below the server's floor.
    let filler = disk.path().join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 1 << 20];
        while disk.available() > 3 << 20 {
            file.write_all(&chunk).unwrap();
        }
        file.sync_all().unwrap();
    }
    let asked = Instant::now();
    let refused = client.post_empty("/api/counter/increment").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.body["detail"].is_string(), "{}", refused.body);
    assert!(asked.elapsed() < Duration::from_secs(2));
    let note = client
        .post("/api/notes", json!({"title": "t", "body": "b"}))
        .await;
    assert_eq!(note.status, StatusCode::SERVICE_UNAVAILABLE);
    // Reads go on, and the server says it is not ready for traffic.
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 3}));
    common::assert_user(&client.get("/api/auth/me").await.body, "filled");
    assert_eq!(client.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(
        client.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Space is freed: writes work again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(
        client.post_empty("/api/counter/increment").await.body,
        json!({"value": 4})
    );
    let mut ready = false;
    for _ in 0..30 {
        if client.get("/readyz").await.status == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz stayed 503 after space was freed");

    // Nothing acknowledged was lost.
    server.stop();
    let server = ServerProcess::start(&data, &args);
    client.base = server.base.clone();
    assert_eq!(client.get("/api/counter").await.body, json!({"value": 4}));
    server.stop();
}
