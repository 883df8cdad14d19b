//! The Redis server, and the Redis Cluster, that Redis tests run against (the server's tests
//! include this file too).
//!
//! `REDIS_URL` names one server, and `REDIS_CLUSTER_URL` one cluster (`redis+cluster://...`). When it is unset and `redis-server` is installed, the first test that
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

/// The URL (`redis+cluster://...`) of the Redis Cluster for the calling test, or `None` once the
/// test is reported skipped: `REDIS_CLUSTER_URL`, or a throwaway cluster this test binary starts
/// (three masters, three replicas) and shares between its tests.
pub fn cluster_url() -> Option<String> {
    if let Some(url) = std::env::var("REDIS_CLUSTER_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        return Some(url);
    }
    static THROWAWAY: OnceLock<Option<Cluster>> = OnceLock::new();
    match THROWAWAY.get_or_init(|| redis_server_installed().then(Cluster::start)) {
        Some(cluster) => Some(cluster.url()),
        None => {
            skip("no Redis Cluster (set REDIS_CLUSTER_URL or install redis-server)");
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

/// Starts six cluster nodes in `$1` on the ports that follow, and kills them all once standard
/// input closes. Each writes its pid to `$1/PORT.pid`, so that a test can kill one.
const RUN_CLUSTER_UNTIL_STDIN_CLOSES: &str = r#"
dir=$1; shift; pids=""
for port in "$@"; do
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 1000 \
    --dir "$dir" --pidfile "$dir/$port.pid" --save "" --appendonly no >/dev/null &
  pids="$pids $!"
done
read -r _; kill -9 $pids 2>/dev/null; rm -rf "$dir"
"#;

/// A throwaway Redis Cluster on loopback: three masters and three replicas, each replica taking
/// over when its master fails (after a second without an answer). It stops when dropped, or when
/// this process ends, however it ends.
pub struct Cluster {
    pub ports: Vec<u16>,
    dir: std::path::PathBuf,
    _shell: Child,
    _lifeline: ChildStdin,
}

impl Cluster {
    pub fn start() -> Self {
        let ports = cluster_ports(6);
        let dir = std::env::temp_dir().join(format!("cookieless-cluster-{}", ports[0]));
        std::fs::create_dir_all(&dir).expect("a directory for the cluster's files");
        let mut shell = Command::new("sh")
            .args(["-c", RUN_CLUSTER_UNTIL_STDIN_CLOSES, "sh"])
            .arg(&dir)
            .args(ports.iter().map(u16::to_string))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("sh starts the cluster's nodes");
        let lifeline = shell.stdin.take().expect("the shell's stdin is piped");
        for port in &ports {
            wait_for_pong(*port);
        }
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(ports.iter().map(|port| format!("127.0.0.1:{port}")))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli could not create the cluster");
        let cluster = Cluster {
            ports,
            dir,
            _shell: shell,
            _lifeline: lifeline,
        };
        cluster.wait_until_ok(Duration::from_secs(30));
        cluster.wait_for_replicas(Duration::from_secs(30));
        cluster
    }

    /// Waits until three masters each have a replica online: `cluster_state:ok` comes as soon as
    /// the masters serve every slot, before the replicas have joined and synced, and a master
    /// killed then has nobody to take over.
    fn wait_for_replicas(&self, within: Duration) {
        let started = Instant::now();
        loop {
            let replicated = self
                .ports
                .iter()
                .filter(|port| {
                    let info = cli(**port, &["info", "replication"]);
                    info.contains("role:master") && info.contains("state=online")
                })
                .count();
            if replicated == 3 {
                return;
            }
            assert!(
                started.elapsed() < within,
                "the cluster's replicas were not online within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.ports[..3]
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// Waits until every live node says the cluster is up and serves every slot.
    pub fn wait_until_ok(&self, within: Duration) {
        let started = Instant::now();
        loop {
            let ok = self
                .live_ports()
                .iter()
                .all(|port| cli(*port, &["cluster", "info"]).contains("cluster_state:ok"));
            if ok {
                return;
            }
            assert!(
                started.elapsed() < within,
                "the cluster was not up within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn live_ports(&self) -> Vec<u16> {
        self.ports
            .iter()
            .copied()
            .filter(|port| answers_ping(*port))
            .collect()
    }

    /// The port of the master that serves `key` now.
    pub fn master_of(&self, key: &str) -> u16 {
        let port = self.live_ports()[0];
        let slot: u16 = cli(port, &["cluster", "keyslot", key])
            .trim()
            .parse()
            .expect("a slot number");
        for line in cli(port, &["cluster", "nodes"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let mut bounds = range.split('-').map(|bound| bound.parse::<u16>().ok());
                match (bounds.next().flatten(), bounds.next().flatten()) {
                    (Some(low), Some(high)) => (low..=high).contains(&slot),
                    (Some(only), None) => only == slot,
                    _ => false,
                }
            });
            if serves {
                let address = fields[1].split('@').next().unwrap_or_default();
                return address
                    .rsplit(':')
                    .next()
                    .and_then(|port| port.parse().ok())
                    .expect("a node's port");
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// Waits until `master`'s replica holds `key` with its field `v` (a session's version) at
    /// `version`: Redis replicates asynchronously, and what a master acknowledged but had not yet
    /// sent to its replica dies with it.
    pub fn wait_for_replica_to_hold(&self, master: u16, key: &str, version: u64) {
        let started = Instant::now();
        let mut seen = String::new();
        while started.elapsed() < Duration::from_secs(10) {
            if let Some(replica) = self.replica_of(master) {
                seen = read_on_replica(replica, &format!("HGET {key} v"));
                if seen.lines().nth(1) == Some(version.to_string().as_str()) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The key names a session: not printed.
        panic!(
            "the replica of {master} never held version {version} of the session: {seen:?}\n{}",
            cli(master, &["cluster", "nodes"])
        );
    }

    /// The port of the replica of the master on `master`, once the cluster lists it.
    fn replica_of(&self, master: u16) -> Option<u16> {
        let nodes = cli(master, &["cluster", "nodes"]);
        let master_id = nodes
            .lines()
            .find(|line| line.contains("myself"))?
            .split_whitespace()
            .next()?;
        nodes
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|fields| {
                fields.len() > 3 && fields[2].contains("slave") && fields[3] == master_id
            })
            .and_then(|fields| {
                fields[1]
                    .split('@')
                    .next()?
                    .rsplit(':')
                    .next()?
                    .parse()
                    .ok()
            })
    }

    /// Kills the node on `port` with SIGKILL, as a crash would.
    pub fn kill(&self, port: u16) {
        let pid = std::fs::read_to_string(self.dir.join(format!("{port}.pid")))
            .expect("the node's pid file");
        let killed = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .expect("kill runs");
        assert!(killed.success(), "could not kill the node on {port}");
        while answers_ping(port) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// What `command` answers on a replica, after `READONLY` on the same connection.
fn read_on_replica(replica: u16, command: &str) -> String {
    Command::new("redis-cli")
        .args(["-p", &replica.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            let script = format!("READONLY\n{command}\n");
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

/// What `redis-cli -p PORT ARGS...` prints.
fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `count` free loopback ports whose cluster bus ports (each + 10000) are free too, all below
/// 32768: out of the range the kernel hands out to outgoing connections, which could take one
/// between this check and the node's bind.
fn cluster_ports(count: usize) -> Vec<u16> {
    let mut ports = Vec::with_capacity(count);
    let mut candidate = 20_000 + (std::process::id() % 2_700) as u16;
    while ports.len() < count {
        candidate = if candidate >= 22_700 {
            20_000
        } else {
            candidate + 1
        };
        let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free(candidate) && free(candidate + 10_000) {
            ports.push(candidate);
        }
    }
    ports
}
