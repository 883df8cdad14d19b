//! The Redis server that Redis tests run against (the server's tests include this file too).
//!
//! `REDIS_URL` names one. When it is unset and `redis-server` is installed, the first test that
//! asks starts a throwaway one for the whole test binary, on a free loopback port, keeping nothing
//! on disk; tests keep apart by key prefix. With neither, a Redis test reports itself skipped and
//! returns, unless `COOKIELESS_REQUIRE_REDIS=1` (set by `scripts/test`) makes that a failure.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The URL of the Redis server for the calling test, or `None` once the test is reported skipped.
pub fn url() -> Option<String> {
    if let Some(url) = std::env::var("REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        return Some(url);
    }
    static THROWAWAY: OnceLock<Option<Throwaway>> = OnceLock::new();
    match THROWAWAY.get_or_init(Throwaway::start_if_installed) {
        Some(throwaway) => Some(throwaway.url.clone()),
        None => {
            skip("no Redis (set REDIS_URL or install redis-server)");
            None
        }
    }
}

/// Whether `redis-server` can be run, for a test that starts and stops servers of its own; a test
/// told no is reported skipped.
pub fn server_installed() -> bool {
    let installed = redis_server_installed();
    if !installed {
        skip("no redis-server (install redis-server)");
    }
    installed
}

fn redis_server_installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// Reports the calling test skipped, by the name libtest gave its thread, or fails it when Redis
/// is required.
fn skip(reason: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("a Redis test");
    let message = format!("SKIPPED {test}: {reason}");
    if std::env::var("COOKIELESS_REQUIRE_REDIS").is_ok_and(|value| value == "1") {
        panic!("{message}");
    }
    // Written to the stream itself: libtest captures `eprintln!`, and shows it only on failure.
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// A redis-server that lives as long as the test binary. Statics are never dropped, so a shell
/// runs it and kills it once its standard input, a pipe from this process, closes: the OS closes
/// it when this process ends, however it ends.
struct Throwaway {
    url: String,
    _shell: Child,
    _lifeline: ChildStdin,
}

const RUN_UNTIL_STDIN_CLOSES: &str = r#"redis-server "$@" & read -r _; kill $!"#;

impl Throwaway {
    fn start_if_installed() -> Option<Self> {
        if !redis_server_installed() {
            return None;
        }
        let port = free_port();
        let mut shell = Command::new("sh")
            .args(["-c", RUN_UNTIL_STDIN_CLOSES, "sh"])
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("sh starts redis-server");
        let lifeline = shell.stdin.take().expect("the shell's stdin is piped");
        wait_for_pong(port);
        Some(Throwaway {
            url: format!("redis://127.0.0.1:{port}/"),
            _shell: shell,
            _lifeline: lifeline,
        })
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits until a Redis server answers on `port`: a bare connect could reach whatever else took
/// the port first.
pub fn wait_for_pong(port: u16) {
    let started = Instant::now();
    while !answers_ping(port) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the throwaway redis-server did not answer on port {port} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut reply = [0; 7];
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
