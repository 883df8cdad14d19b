//! The load benchmark: starts every contender, fills each with pre-made sessions, drives it with
//! wrk from a separate process on loopback (reads and writes, each request on a random session),
//! running the baseline between every two others so that drift hits them alike, and prints one
//! table.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bench::cli::at_least;
use bench::contenders::session_carrier;
use bench::kind::Kind;
use bench::lost_updates::{self, Carrier, LostUpdates};
use bench::targets::{self, Check};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Session layer cost against a bare handler, measured with wrk on loopback.")]
struct Args {
    /// How long each wrk run lasts.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Rounds over every contender; the table shows each figure's median.
    #[arg(long, default_value_t = 3, value_parser = at_least(1))]
    rounds: usize,
    #[arg(long, default_value_t = 64, value_parser = at_least(1))]
    connections: usize,
    /// wrk's threads (default: one per CPU wrk runs on).
    #[arg(long, value_parser = at_least(1))]
    threads: Option<usize>,
    /// Let the contenders and wrk share every CPU instead of running on CPUs of their own.
    #[arg(long)]
    no_pin: bool,
    /// A pause after every run.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// Sessions made in each contender before the load, spread over by the load.
    #[arg(long, default_value_t = 1000, value_parser = at_least(1))]
    sessions: usize,
    /// Which contenders, in order (`bare` first: the ratios are to it).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "bare,empty-layer,bare-1us,memory,sled,redis,redis-no-lease,\
            tower-sessions,tower-sessions-sqlite,tower-sessions-sqlite-default,tower-sessions-redis,\
            axum-session,axum-session-sqlite,axum-session-sqlite-default,axum-session-redis"
    )]
    contenders: Vec<Kind>,
    /// The Redis server for the contenders on Redis.
    #[arg(long, env = "REDIS_URL")]
    redis: Option<String>,
    /// How long each contender's lost-update count runs, once the rounds are over.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    lost_update_probe: Duration,
    /// Also write the report to this Markdown file.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// wrk picks a random pre-made session for every request. Each line of the sessions file is
/// the header that carries one (`X-Session: ...`, or `Cookie: ...` for cookie transports).
const WRK_SCRIPT: &str = r#"
local sessions = {}
function init(args)
  for line in io.lines(args[1]) do
    local name, value = line:match("^([^:]+): (.*)$")
    sessions[#sessions + 1] = { [name] = value }
  end
  wrk.method = args[2]
end
function request()
  return wrk.format(nil, nil, sessions[math.random(#sessions)])
end
"#;

/// The two endpoints every contender serves: the read, then the write.
const OPERATIONS: [(&str, &str); 2] = [("GET", "/counter"), ("POST", "/counter/increment")];

/// The order of one round's runs of one operation, as indices into the contenders, the baseline
/// (index 0) first. The baseline runs before and after every other contender, so that each is
/// compared with the baseline as measured seconds away, not minutes: this machine's speed drifts
/// by a fifth from one minute to the next. The others run in an order that starts one further on
/// each round, so that none always runs at the same point of a round.
fn schedule(contenders: usize, round: usize) -> Vec<usize> {
    let others = contenders.saturating_sub(1);
    let mut order = vec![0];
    for offset in 0..others {
        order.push(1 + (round - 1 + offset) % others);
        order.push(0);
    }
    order
}

/// Each non-baseline run of `order` against the mean of the baseline runs just before and after
/// it, with `rates` the requests per second of the runs in that order.
fn bracketed_ratios(order: &[usize], rates: &[f64]) -> Vec<(usize, f64)> {
    (1..order.len().saturating_sub(1))
        .filter(|&at| order[at] != 0 && order[at - 1] == 0 && order[at + 1] == 0)
        .map(|at| {
            let baseline = (rates[at - 1] + rates[at + 1]) / 2.0;
            (order[at], rates[at] / baseline)
        })
        .collect()
}

struct Contender {
    name: String,
    url: String,
    /// The pre-made sessions, one request header per line, for wrk.
    tokens: PathBuf,
    /// The same sessions.
    sessions: Vec<Carrier>,
    process: Child,
}

impl Drop for Contender {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[derive(Clone, Copy, Default)]
struct Run {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    /// The contender's CPU time (user and system) per request: unlike throughput, it hardly
    /// moves when a neighbour on a shared machine takes CPU time away.
    cpu_us_per_request: f64,
    /// How often per request wrk's CPU was woken for another CPU's sake (see
    /// [`wake_up_interrupts`]); `None` when wrk does not run on CPUs of its own.
    wake_ups_per_request: Option<f64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    let script = work.path().join("session.lua");
    std::fs::write(&script, WRK_SCRIPT)?;

    let cpus = Cpus::choose(!args.no_pin);
    let clients = Clients {
        threads: args.threads.unwrap_or(cpus.load_count),
        connections: args.connections,
        cpus: cpus.load.clone(),
    };
    let mut contenders = Vec::new();
    for kind in &args.contenders {
        let name = kind.name();
        let contender = start(*kind, name, &args, &cpus, work.path()).await?;
        eprintln!(
            "{name}: {} sessions made at {}",
            args.sessions, contender.url
        );
        contenders.push(contender);
    }
    for contender in &contenders {
        for (method, path) in OPERATIONS {
            wrk(
                &clients,
                &script,
                contender,
                method,
                path,
                Duration::from_secs(1),
            )?;
        }
    }

    let mut runs = vec![[Vec::new(), Vec::new()]; contenders.len()];
    let mut ratios = vec![[Vec::new(), Vec::new()]; contenders.len()];
    for round in 1..=args.rounds {
        for (op, (method, path)) in OPERATIONS.into_iter().enumerate() {
            let order = schedule(contenders.len(), round);
            let mut rates = Vec::with_capacity(order.len());
            for &index in &order {
                let contender = &contenders[index];
                let run = wrk(&clients, &script, contender, method, path, args.duration)?;
                eprintln!(
                    "round {round}: {} {method} {path}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    contender.name, run.requests_per_second, run.p50_ms, run.p99_ms
                );
                runs[index][op].push(run);
                rates.push(run.requests_per_second);
                // Lets a store's background work (sled's flusher, say) finish before the next
                // run, so that it is not charged to whoever runs next.
                std::thread::sleep(args.settle);
            }
            for (index, ratio) in bracketed_ratios(&order, &rates) {
                ratios[index][op].push(ratio);
            }
        }
    }
    let mut lost_updates = Vec::with_capacity(contenders.len());
    for contender in &contenders {
        let counted = lost_updates::probe(
            &contender.url,
            &contender.sessions,
            args.connections,
            args.lost_update_probe,
        )
        .await?;
        eprintln!(
            "{}: {} increments acknowledged, {} applied, {} failed",
            contender.name, counted.acknowledged, counted.applied, counted.failed
        );
        lost_updates.push(counted);
    }
    // The group-commit run shares every CPU, so nothing of the load table may be left running.
    drop(contenders);
    let group_commit = if args.contenders.contains(&Kind::Sled) {
        Some(group_commit(&args, &script, work.path()).await?)
    } else {
        None
    };

    let measured = Measured {
        runs,
        ratios,
        lost_updates,
        group_commit,
    };
    let report = report(&args, &clients, &cpus, &args.contenders, &measured);
    println!("{report}");
    if let Some(output) = &args.output {
        std::fs::write(output, &report)?;
    }
    Ok(())
}

/// Durable sled writes from many clients at once, and from one client in sequence.
struct GroupCommit {
    concurrent: Vec<Run>,
    sequential: Vec<Run>,
}

/// Measures [`GroupCommit`] on a sled contender of its own that runs on every CPU, as do its
/// clients: a flush waits on the disk, and what this compares is how many writes share one, which
/// a contender held to one core (and its flusher with it) would hide behind its CPU limit.
async fn group_commit(
    args: &Args,
    script: &Path,
    work: &Path,
) -> Result<GroupCommit, Box<dyn std::error::Error>> {
    let cpus = Cpus::choose(false);
    let contender = start(Kind::Sled, "sled-group-commit", args, &cpus, work).await?;
    let (method, path) = ("POST", "/counter/increment");
    let many = Clients {
        threads: args.threads.unwrap_or(cpus.load_count),
        connections: args.connections,
        cpus: Vec::new(),
    };
    let one = Clients {
        threads: 1,
        connections: 1,
        cpus: Vec::new(),
    };
    wrk(
        &many,
        script,
        &contender,
        method,
        path,
        Duration::from_secs(1),
    )?;
    let mut measured = GroupCommit {
        concurrent: Vec::new(),
        sequential: Vec::new(),
    };
    for round in 1..=args.rounds {
        for (clients, runs) in [
            (&many, &mut measured.concurrent),
            (&one, &mut measured.sequential),
        ] {
            let run = wrk(clients, script, &contender, method, path, args.duration)?;
            eprintln!(
                "round {round}: sled durable writes, {} client(s): {:.0} req/s",
                clients.connections, run.requests_per_second
            );
            runs.push(run);
            std::thread::sleep(args.settle);
        }
    }
    Ok(measured)
}

/// Starts the contender of kind `kind`, named `name` in the table, and makes its sessions.
async fn start(
    kind: Kind,
    name: &str,
    args: &Args,
    cpus: &Cpus,
    work: &Path,
) -> Result<Contender, Box<dyn std::error::Error>> {
    let binary = std::env::current_exe()?.with_file_name("contender");
    let mut command = on_cpus(&cpus.server, binary.as_os_str());
    command.args(["--kind", kind.name()]).stdout(Stdio::piped());
    if kind.needs_data_dir() {
        command.arg("--data-dir").arg(work.join(name));
    }
    if kind.needs_redis() {
        let url = args
            .redis
            .as_deref()
            .ok_or_else(|| format!("{name} needs --redis or REDIS_URL"))?;
        command.args(["--redis", url]);
    }
    let mut process = command.spawn()?;
    let mut line = String::new();
    BufReader::new(process.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("{name} did not start: {line:?}"))?
        .to_string();

    let client = reqwest::Client::new();
    let tokens = work.join(format!("{name}.tokens"));
    let mut file = std::fs::File::create(&tokens)?;
    let mut sessions = Vec::with_capacity(args.sessions);
    for _ in 0..args.sessions {
        let response = client
            .post(format!("{url}/counter/increment"))
            .send()
            .await?;
        let (header, value) = session_carrier(response.headers())
            .ok_or_else(|| format!("{name} handed out no session"))?;
        writeln!(file, "{header}: {}", value.to_str()?)?;
        sessions.push((header, value));
    }
    Ok(Contender {
        name: name.to_string(),
        url,
        tokens,
        sessions,
        process,
    })
}

/// Which CPUs the contenders and wrk run on. Apart, a contender's requests per second are its
/// own: sharing, it would compete with wrk for every core, and which of the two got more CPU would
/// decide a run as much as the contender's cost does. Apart, every contender runs on one core, so
/// the ratios between them are ratios of CPU cost per request.
#[derive(Clone, Debug)]
struct Cpus {
    /// Empty when unpinned.
    server: Vec<usize>,
    load: Vec<usize>,
    /// How many CPUs the load has, pinned or not.
    load_count: usize,
}

impl Cpus {
    fn choose(pin: bool) -> Self {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset").arg("--version").output().is_ok();
        if !pin || count < 2 || !taskset {
            return Cpus {
                server: Vec::new(),
                load: Vec::new(),
                load_count: count.min(2),
            };
        }
        Cpus {
            server: vec![0],
            load: (1..count).collect(),
            load_count: count - 1,
        }
    }

    fn describe(&self) -> String {
        if self.server.is_empty() || self.load.is_empty() {
            return "contenders and wrk sharing every CPU".into();
        }
        format!(
            "each contender on CPU {}, wrk on CPU {} (taskset)",
            cpu_list(&self.server),
            cpu_list(&self.load)
        )
    }
}

/// CPUs as `taskset -c` takes them.
fn cpu_list(cpus: &[usize]) -> String {
    let cpus: Vec<String> = cpus.iter().map(usize::to_string).collect();
    cpus.join(",")
}

/// `program`, run on `cpus`, or anywhere if there are none.
fn on_cpus(cpus: &[usize], program: &std::ffi::OsStr) -> Command {
    if cpus.is_empty() {
        return Command::new(program);
    }
    let mut command = Command::new("taskset");
    command.arg("-c").arg(cpu_list(cpus)).arg(program);
    command
}

/// How many wrk threads and connections, and where wrk runs.
#[derive(Clone)]
struct Clients {
    threads: usize,
    connections: usize,
    /// wrk's own CPUs, whose wake-ups are counted; empty when it shares every CPU.
    cpus: Vec<usize>,
}

fn wrk(
    clients: &Clients,
    script: &Path,
    contender: &Contender,
    method: &str,
    path: &str,
    duration: Duration,
) -> Result<Run, Box<dyn std::error::Error>> {
    let cpu_before = cpu_seconds(contender.process.id())?;
    let wake_ups_before = read_wake_ups(&clients.cpus);
    let output = on_cpus(&clients.cpus, "wrk".as_ref())
        .arg(format!("-t{}", clients.threads))
        .arg(format!("-c{}", clients.connections))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(format!("{}{path}", contender.url))
        .arg("--")
        .arg(&contender.tokens)
        .arg(method)
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || text.contains("Non-2xx") {
        return Err(format!("wrk failed against {}: {text}", contender.name).into());
    }
    let cpu = cpu_seconds(contender.process.id())? - cpu_before;
    let wake_ups_after = read_wake_ups(&clients.cpus);
    let mut run = parse_wrk(&text).ok_or_else(|| format!("unreadable wrk output: {text}"))?;
    run.cpu_us_per_request = cpu * 1e6 / run.requests as f64;
    run.wake_ups_per_request = wake_ups_before
        .zip(wake_ups_after)
        .map(|(before, after)| after.saturating_sub(before) as f64 / run.requests as f64);
    Ok(run)
}

fn read_wake_ups(cpus: &[usize]) -> Option<u64> {
    wake_up_interrupts(&std::fs::read_to_string("/proc/interrupts").ok()?, cpus)
}

/// The interrupts by which other CPUs woke `cpus` (rescheduling and function-call IPIs), from the
/// text of `/proc/interrupts`. On loopback, the kernel delivers a contender's answer to wrk's
/// socket on the contender's CPU, and if wrk is asleep, wakes it with one of these, paid for on the
/// contender's CPU: a contender that answers more slowly leaves wrk idle more often, and pays more
/// of them per request.
fn wake_up_interrupts(text: &str, cpus: &[usize]) -> Option<u64> {
    if cpus.is_empty() {
        return None;
    }
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let columns = cpus
        .iter()
        .map(|cpu| header.iter().position(|name| *name == format!("CPU{cpu}")))
        .collect::<Option<Vec<usize>>>()?;
    let mut total = None;
    for line in lines {
        let mut fields = line.split_whitespace();
        if !matches!(fields.next(), Some("RES:" | "CAL:")) {
            continue;
        }
        let counts: Vec<&str> = fields.collect();
        for &column in &columns {
            *total.get_or_insert(0) += counts.get(column)?.parse::<u64>().ok()?;
        }
    }
    total
}

/// The user and system CPU time a process has used, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Result<f64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("unreadable /proc/PID/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |index: usize| -> Result<f64, Box<dyn std::error::Error>> {
        Ok(fields
            .get(index)
            .ok_or("short /proc/PID/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn parse_wrk(text: &str) -> Option<Run> {
    let mut run = Run::default();
    for line in text.lines().map(str::trim) {
        if let Some(rate) = line.strip_prefix("Requests/sec:") {
            run.requests_per_second = rate.trim().parse().ok()?;
        } else if let Some(latency) = line.strip_prefix("50%") {
            run.p50_ms = milliseconds(latency.trim())?;
        } else if let Some(latency) = line.strip_prefix("99%") {
            run.p99_ms = milliseconds(latency.trim())?;
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            run.requests = count.trim().parse().ok()?;
        }
    }
    (run.requests_per_second > 0.0 && run.requests > 0).then_some(run)
}

/// wrk's `812.00us`, `1.23ms`, `2.00s` in milliseconds.
fn milliseconds(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(number) = text.strip_suffix("us") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix("ms") {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1000.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * factor)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Everything the load table measured, contender by contender (the read, then the write).
struct Measured {
    runs: Vec<[Vec<Run>; 2]>,
    ratios: Vec<[Vec<f64>; 2]>,
    lost_updates: Vec<LostUpdates>,
    group_commit: Option<GroupCommit>,
}

fn report(
    args: &Args,
    clients: &Clients,
    cpus: &Cpus,
    kinds: &[Kind],
    measured: &Measured,
) -> String {
    let Measured {
        runs,
        ratios,
        lost_updates,
        group_commit,
    } = measured;
    let names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
    let summary = |runs: &[Run]| Run {
        requests_per_second: median(runs.iter().map(|run| run.requests_per_second).collect()),
        p50_ms: median(runs.iter().map(|run| run.p50_ms).collect()),
        p99_ms: median(runs.iter().map(|run| run.p99_ms).collect()),
        requests: runs.iter().map(|run| run.requests).sum(),
        cpu_us_per_request: median(runs.iter().map(|run| run.cpu_us_per_request).collect()),
        wake_ups_per_request: runs
            .iter()
            .map(|run| run.wake_ups_per_request)
            .collect::<Option<Vec<f64>>>()
            .map(median),
    };
    let ratio = |index: usize, op: usize| {
        if index == 0 {
            1.0
        } else {
            median(ratios[index][op].clone())
        }
    };
    let mut table = String::from(
        "| contender | read req/s | read p50 | read p99 | read vs bare | read CPU/req | write req/s | write p50 | write p99 | write vs bare | write CPU/req |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let summaries: Vec<(Run, Run)> = runs
        .iter()
        .map(|runs| (summary(&runs[0]), summary(&runs[1])))
        .collect();
    for (index, (name, (read, write))) in names.iter().zip(&summaries).enumerate() {
        table.push_str(&format!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.2} | {:.1} µs | {:.0} | {:.2} ms | {:.2} ms | {:.2} | {:.1} µs |\n",
            name,
            read.requests_per_second,
            read.p50_ms,
            read.p99_ms,
            ratio(index, 0),
            read.cpu_us_per_request,
            write.requests_per_second,
            write.p50_ms,
            write.p99_ms,
            ratio(index, 1),
            write.cpu_us_per_request,
        ));
    }
    let mut rounds = format!(
        "| vs {} in each round | read | write |\n| --- | --- | --- |\n",
        names[0]
    );
    for (name, ratios) in names.iter().zip(ratios).skip(1) {
        rounds.push_str(&format!(
            "| {} | {} | {} |\n",
            name,
            listed(&ratios[0]),
            listed(&ratios[1])
        ));
    }
    let mut wake_ups = String::from(
        "\n| wake-ups of wrk per request (median) | read | write |\n| --- | ---: | ---: |\n",
    );
    for (name, (read, write)) in names.iter().zip(&summaries) {
        let Some((read, write)) = read.wake_ups_per_request.zip(write.wake_ups_per_request) else {
            wake_ups.clear();
            break;
        };
        wake_ups.push_str(&format!("| {name} | {read:.3} | {write:.3} |\n"));
    }
    let group_commit = group_commit.as_ref().map(|measured| {
        (
            summary(&measured.concurrent).requests_per_second,
            summary(&measured.sequential).requests_per_second,
        )
    });
    let speed_up = group_commit.map(|(concurrent, sequential)| concurrent / sequential);
    let mut durability = String::from(
        "| contender | a write on disk before its response | increments acknowledged | applied | failed | lost |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for (kind, counted) in kinds.iter().zip(lost_updates) {
        durability.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            kind.name(),
            kind.durability(),
            counted.acknowledged,
            counted.applied,
            counted.failed,
            counted.lost()
        ));
    }
    let calibration = if names.contains(&"bare-1us") {
        " bare-1us is bare plus 1 µs of pure CPU time per request (a spin touching no memory): its \
         ratio is what a microsecond of work costs in this table."
    } else {
        ""
    };
    let mut checks = load_checks(&names, ratios, speed_up);
    checks.extend(lost_update_checks(&names, lost_updates));
    let checks = targets::table(&checks);
    let group_commit = group_commit
        .map(|(concurrent, sequential)| {
            format!(
                "\n\nDurable sled writes (a sled contender of their own, on every CPU, once the others have stopped): \
                 {concurrent:.0} req/s from {} concurrent clients, {sequential:.0} req/s from one \
                 client in sequence (one flush per request): {:.1}x.",
                args.connections,
                concurrent / sequential
            )
        })
        .unwrap_or_default();
    format!(
        "{table}\n{} round(s) of {}s per contender and operation, wrk -t{} -c{}, {}, {} sessions per contender, \
         medians of the rounds. The first contender is the baseline: in each round it runs before and after every other \
         contender (the others in an order that starts one further on each round), a ratio is a run's \
         requests per second against the mean of the baseline runs just before and after it, and the table shows the median of \
         those ratios. CPU/req is the contender process's own CPU time (user and system) per request; \
         a wake-up of wrk is an interrupt (rescheduling or function call) that another CPU sent wrk's CPU, which on loopback \
         is mostly the contender's CPU waking an idle wrk to hand it an answer, at the contender's expense.{calibration}\n\n{rounds}{wake_ups}{group_commit}\n\n\
         Lost updates, counted once the rounds are over: {} clients increment counters on random sessions for {}s, \
         each waiting for its answer before the next, and the increments acknowledged are set against how much the \
         sessions' counters grew.\n\n{durability}\n\nVersions: {}.\n\nMachine: {}\n\n{checks}",
        args.rounds,
        args.duration.as_secs(),
        clients.threads,
        clients.connections,
        cpus.describe(),
        args.sessions,
        args.connections,
        args.lost_update_probe.as_secs(),
        versions(),
        machine()
    )
}

/// The targets the load table can check, for the contenders it ran: this library's reads, and
/// its durable sled writes, against `bare`; and each of its stores against the rivals' stores of
/// the same kind, round by round (each rival's ratio and ours as measured against the same
/// round's `bare` runs).
fn load_checks(names: &[&str], ratios: &[[Vec<f64>; 2]], speed_up: Option<f64>) -> Vec<Check> {
    let find = |name: &str| names.iter().position(|candidate| *candidate == name);
    let mut checks = Vec::new();
    if names.first() == Some(&"bare") {
        for (store, op, floor, what) in [
            (
                "memory",
                0,
                targets::MEMORY_READ_RATIO,
                "Read path, memory store",
            ),
            ("sled", 0, targets::SLED_READ_RATIO, "Read path, sled store"),
            (
                "sled",
                1,
                targets::SLED_DURABLE_WRITE_RATIO,
                "Durable writes, sled store",
            ),
        ] {
            if let Some(index) = find(store) {
                let ratio = median(ratios[index][op].clone());
                checks.push(Check::at_least(
                    format!("{what}, at least {floor:.2} of bare req/s"),
                    ratio,
                    floor,
                    format!("{ratio:.2} (rounds: {})", listed(&ratios[index][op])),
                ));
            }
        }
    }
    const READS_AND_WRITES: &[(usize, &str)] = &[(0, "reads"), (1, "writes")];
    const WRITES: &[(usize, &str)] = &[(1, "writes")];
    /// Ours, the rival, the operations compared, and which store.
    type Duel<'a> = (&'a str, &'a str, &'a [(usize, &'a str)], &'a str);
    let duels: [Duel; 6] = [
        ("memory", "tower-sessions", READS_AND_WRITES, "memory store"),
        ("memory", "axum-session", READS_AND_WRITES, "memory store"),
        (
            "redis",
            "tower-sessions-redis",
            READS_AND_WRITES,
            "Redis store",
        ),
        (
            "redis",
            "axum-session-redis",
            READS_AND_WRITES,
            "Redis store",
        ),
        (
            "sled",
            "tower-sessions-sqlite",
            WRITES,
            "durable, sled against SQLite with synchronous=FULL",
        ),
        (
            "sled",
            "axum-session-sqlite",
            WRITES,
            "durable, sled against SQLite with synchronous=FULL",
        ),
    ];
    for (ours, rival, operations, store) in duels {
        let (Some(ours), Some(theirs)) = (find(ours), find(rival)) else {
            continue;
        };
        for &(op, operation) in operations {
            let ahead: Vec<f64> = ratios[ours][op]
                .iter()
                .zip(&ratios[theirs][op])
                .map(|(ours, theirs)| ours / theirs)
                .collect();
            let by = median(ahead.clone());
            checks.push(Check::at_least(
                format!("Ahead of {rival} on {operation} ({store})"),
                by,
                // Strictly ahead: a tie is not a lead.
                1.0 + f64::EPSILON,
                format!("{by:.2}x its req/s (rounds: {})", listed(&ahead)),
            ));
        }
    }
    if let Some(speed_up) = speed_up {
        checks.push(Check::at_least(
            format!(
                "Durable sled writes: concurrent clients at least {:.0}x one flush per request",
                targets::GROUP_COMMIT_SPEEDUP
            ),
            speed_up,
            targets::GROUP_COMMIT_SPEEDUP,
            format!("{speed_up:.1}x"),
        ));
    }
    checks
}

/// This library's stores lose no acknowledged update.
fn lost_update_checks(names: &[&str], counted: &[LostUpdates]) -> Vec<Check> {
    names
        .iter()
        .zip(counted)
        .filter(|(name, _)| matches!(**name, "memory" | "sled" | "redis"))
        .map(|(name, counted)| {
            Check::under(
                format!("No acknowledged increment lost, {name} store"),
                counted.lost().unsigned_abs() as f64,
                1.0,
                format!(
                    "{} lost of {} acknowledged",
                    counted.lost(),
                    counted.acknowledged
                ),
            )
        })
        .collect()
}

fn listed(values: &[f64]) -> String {
    values
        .iter()
        .map(|value| format!("{value:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The locked versions of the crates the contenders are built on (two, where two versions of
/// a crate are in use).
fn versions() -> String {
    const LOCK: &str = include_str!("../../Cargo.lock");
    [
        "axum",
        "hyper",
        "sled",
        "redis",
        "tower-sessions",
        "tower-sessions-sqlx-store",
        "tower-sessions-redis-store",
        "fred",
        "axum_session",
        "axum_session_sqlx",
        "axum_session_redispool",
        "sqlx",
        "libsqlite3-sys",
    ]
    .iter()
    .map(|name| {
        let versions: Vec<&str> = LOCK
            .split("[[package]]")
            .filter_map(|package| {
                let mut lines = package.trim().lines();
                if lines.next()? != format!("name = \"{name}\"") {
                    return None;
                }
                Some(lines.next()?.strip_prefix("version = ")?.trim_matches('"'))
            })
            .collect();
        if versions.is_empty() {
            format!("{name} ?")
        } else {
            format!("{name} {}", versions.join(" and "))
        }
    })
    .collect::<Vec<_>>()
    .join(", ")
}

fn machine() -> String {
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_default();
    format!(
        "{} cores ({cpu}), Linux {}, {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        run("uname", &["-r"]),
        run("rustc", &["--version"]),
        run("wrk", &["--version"]).lines().next().unwrap_or("wrk"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_brackets_every_other_contender_and_the_order_rotates() {
        assert_eq!(schedule(4, 1), [0, 1, 0, 2, 0, 3, 0]);
        assert_eq!(schedule(4, 2), [0, 2, 0, 3, 0, 1, 0]);
        assert_eq!(schedule(4, 4), [0, 1, 0, 2, 0, 3, 0]);
        assert_eq!(schedule(1, 3), [0]);
    }

    #[test]
    fn wake_ups_are_the_rescheduling_and_function_call_interrupts_of_the_given_cpus() {
        let text = "           CPU0       CPU1       CPU2\n\
                    \x20 0:         10          0          0   IO-APIC    2-edge      timer\n\
                    NMI:          1          2          3   Non-maskable interrupts\n\
                    RES:        100        200        300   Rescheduling interrupts\n\
                    CAL:       1000       2000       3000   Function call interrupts\n\
                    TLB:         50         60         70   TLB shootdowns\n";
        assert_eq!(wake_up_interrupts(text, &[1]), Some(2200));
        assert_eq!(wake_up_interrupts(text, &[1, 2]), Some(5500));
        assert_eq!(wake_up_interrupts(text, &[]), None);
        assert_eq!(wake_up_interrupts(text, &[3]), None);
        assert_eq!(wake_up_interrupts("           CPU0\n", &[0]), None);
    }

    /// Each check's target, and whether it was met.
    fn statuses(checks: &[Check]) -> Vec<(&str, bool)> {
        checks
            .iter()
            .map(|check| (check.target.as_str(), check.met))
            .collect()
    }

    #[test]
    fn the_load_targets_are_checked_for_the_contenders_that_ran() {
        let names = [
            "bare",
            "memory",
            "sled",
            "redis",
            "tower-sessions",
            "tower-sessions-sqlite",
            "axum-session-redis",
        ];
        let ratios = [
            [vec![1.0, 1.0, 1.0], vec![1.0, 1.0, 1.0]],
            [vec![0.91, 0.85, 0.93], vec![0.70, 0.72, 0.71]],
            [vec![0.75, 0.79, 0.81], vec![0.40, 0.38, 0.45]],
            [vec![0.30, 0.35, 0.33], vec![0.28, 0.25, 0.30]],
            [vec![0.80, 0.86, 0.80], vec![0.60, 0.72, 0.50]],
            [vec![0.50, 0.55, 0.52], vec![0.10, 0.12, 0.11]],
            [vec![0.31, 0.30, 0.40], vec![0.20, 0.20, 0.20]],
        ];
        let checks = load_checks(&names, &ratios, Some(5.5));
        assert_eq!(
            statuses(&checks),
            [
                ("Read path, memory store, at least 0.90 of bare req/s", true),
                ("Read path, sled store, at least 0.80 of bare req/s", false),
                // 0.40, 0.38, 0.45.
                ("Durable writes, sled store, at least 0.40 of bare req/s", true),
                // Round by round 1.14, 0.99, 1.16: ahead in the median.
                ("Ahead of tower-sessions on reads (memory store)", true),
                // 1.17, 1.00, 1.42.
                ("Ahead of tower-sessions on writes (memory store)", true),
                // 0.97, 1.17, 0.83: behind in the median.
                ("Ahead of axum-session-redis on reads (Redis store)", false),
                ("Ahead of axum-session-redis on writes (Redis store)", true),
                (
                    "Ahead of tower-sessions-sqlite on writes (durable, sled against SQLite with synchronous=FULL)",
                    true
                ),
                (
                    "Durable sled writes: concurrent clients at least 5x one flush per request",
                    true
                ),
            ]
        );
        assert_eq!(checks[0].measured, "0.91 (rounds: 0.91, 0.85, 0.93)");
        let level = [
            [vec![1.0], vec![1.0]],
            [vec![0.8], vec![0.5]],
            [vec![0.8], vec![0.5]],
        ];
        let checks = load_checks(&["bare", "memory", "axum-session"], &level, None);
        assert!(
            checks[1..].iter().all(|check| !check.met),
            "a tie is not a lead"
        );
        assert!(load_checks(&["memory", "sled"], &level, None).is_empty());
    }

    #[test]
    fn our_stores_must_lose_no_acknowledged_increment() {
        let counted = |acknowledged, applied| LostUpdates {
            acknowledged,
            applied,
            failed: 0,
        };
        let checks = lost_update_checks(
            &["bare", "memory", "sled", "tower-sessions", "redis"],
            &[
                counted(10, 10),
                counted(500, 500),
                counted(500, 499),
                counted(500, 400),
                counted(500, 501),
            ],
        );
        assert_eq!(
            statuses(&checks),
            [
                ("No acknowledged increment lost, memory store", true),
                ("No acknowledged increment lost, sled store", false),
                // Applied twice is as wrong as lost.
                ("No acknowledged increment lost, redis store", false),
            ]
        );
        assert_eq!(checks[1].measured, "1 lost of 500 acknowledged");
    }

    #[test]
    fn a_ratio_is_against_the_baseline_runs_either_side() {
        let order = schedule(3, 2);
        assert_eq!(order, [0, 2, 0, 1, 0]);
        let ratios = bracketed_ratios(&order, &[100.0, 45.0, 80.0, 72.0, 100.0]);
        assert_eq!(ratios, [(2, 0.5), (1, 0.8)]);
        assert!(bracketed_ratios(&[0], &[100.0]).is_empty());
    }

    #[test]
    fn counts_of_zero_are_refused() {
        for flag in ["--rounds", "--sessions", "--connections", "--threads"] {
            let parsed = Args::try_parse_from(["bench", flag, "0"]);
            assert!(parsed.is_err(), "{flag} 0 was taken");
        }
        let args = Args::try_parse_from(["bench", "--rounds", "2"]).unwrap();
        assert_eq!((args.rounds, args.sessions), (2, 1000));
    }

    #[test]
    fn wrk_output_is_read() {
        let text = "  Latency Distribution\n     50%  812.00us\n     75%    1.10ms\n     90%    2.00ms\n     99%    5.50ms\n  100000 requests in 5.00s, 12.34MB read\nRequests/sec:  20000.50\nTransfer/sec:      2.47MB\n";
        let run = parse_wrk(text).unwrap();
        assert_eq!(run.requests_per_second, 20000.5);
        assert!((run.p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(run.p99_ms, 5.5);
        assert_eq!(run.requests, 100000);
        assert_eq!(milliseconds("2.00s"), Some(2000.0));
        assert!(parse_wrk("garbage").is_none());
    }

    #[test]
    fn every_contender_crate_has_a_locked_version() {
        let versions = versions();
        assert!(!versions.contains('?'), "{versions}");
        assert!(versions.contains("axum_session 0."), "{versions}");
        assert!(
            versions.contains("tower-sessions 0.14.0 and 0.15.0"),
            "{versions}"
        );
    }
}
