//! `bp-sim`: a BP_MQX_ETH box simulator on the command line (see `--help`). The behaviour lives
//! in the `essensys_bp_sim` library; this binary parses options, prints, and handles Ctrl-C.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use essensys_bp_sim::{
    load::{self, LoadConfig},
    replay::{self, ReplayOptions, Summary},
    BoxSim, CycleError, CycleReport, SimConfig, Timing,
};
use essensys_core::{matricule::Key, Index, Value};

/// `println!` that stops the program quietly when stdout is gone (e.g. piped into `head`)
/// instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => { emit(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` with the same broken-pipe handling as [`say!`].
macro_rules! say_raw {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

/// A byte-faithful simulator of the Essensys BP_MQX_ETH box, talking to a gateway.
///
/// It sends exactly the firmware's request bytes (one connection and one write per request),
/// reads each reply with one read of at most 1499 bytes (1023 for `done`), judges it with the
/// firmware's substring checks, and applies the actions to a simulated house. It connects only
/// to the `--server` address given (an IP and port: no DNS).
#[derive(Debug, Parser)]
#[command(name = "bp-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One box at the firmware's cadence, printing every cycle and every change.
    ///
    /// A cycle is serverinfos -> mystatus -> myactions (+ one done per action). The next
    /// cycle starts 2 s after a cycle whose isconnected was true, 5 s when false, and 20 s after
    /// an error (the real box re-inits its network). With --fast: 50 ms between cycles, 1 s
    /// after an error. Ctrl-C stops. Exits non-zero if any cycle failed.
    Run(RunArgs),
    /// A fleet of boxes, each with its own key, cycling against one server for a bounded time.
    ///
    /// Prints cycles/s, requests/s, the latency of each request (connect -> reply: p50, p99,
    /// max) and the errors by kind. Box keys are derived from --key-seed, so each box has its
    /// own client id. Only a loopback --server is accepted unless --allow-non-loopback.
    Load(LoadArgs),
    /// Send each *.http file of a folder (sorted) as-is, print the replies, compare with NAME.reply.
    ///
    /// Each request is one write on a new connection; the reply is read once (at most 1499
    /// bytes, 1023 for a POST /api/done/ request). Every NAME.http needs its NAME.reply beside
    /// it: the reply must equal it byte for byte, Content-Length included, except for the
    /// placeholders {{guid}} (any lower-case 8-4-4-4-12 hex GUID, 36 bytes) and {{date}} (an
    /// HTTP date, 29 bytes). Exits non-zero on a missing or mismatched NAME.reply, a reply that
    /// did not fit in the one read, a request that got no reply, or a folder without any
    /// *.http case. With --record, each missing NAME.reply is written from the server's reply
    /// (GUIDs and dates masked) for review: recorded cases do not pass.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
struct ServerArg {
    /// The gateway's address (IP:port). The simulator connects to it and nowhere else.
    #[arg(long, env = "ESSENSYS_BP_SIM_SERVER", default_value = "127.0.0.1:8080")]
    server: SocketAddr,
}

#[derive(Debug, Args)]
struct TimingArgs {
    /// Connect timeout per request (the firmware's is 10 s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Timeout for sending a request and reading its reply.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    reply_timeout: Duration,
    /// After the firmware's one read, how long to watch for more bytes (a reply too long or
    /// sent in pieces). Ends early when the server closes.
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    overflow_window: Duration,
}

impl TimingArgs {
    fn timing(&self) -> Timing {
        Timing {
            connect_timeout: self.connect_timeout,
            reply_timeout: self.reply_timeout,
            overflow_window: self.overflow_window,
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    server: ServerArg,
    /// The box's 32-digit remote-access key; the matricule is derived from it. Without a key,
    /// requests carry no Authorization header.
    /// The key is never printed, not even in an error.
    #[arg(long, env = "ESSENSYS_BP_SIM_KEY", hide_env_values = true)]
    key: Option<String>,
    /// 50 ms between cycles (1 s after an error) instead of the firmware's 2 s / 5 s / 20 s.
    #[arg(long)]
    fast: bool,
    /// Stop after this many cycles (default: run until Ctrl-C).
    #[arg(long)]
    cycles: Option<u64>,
    /// The "version" the box reports in mystatus.
    #[arg(long, default_value = "V37")]
    status_version: String,
    /// A cell as the box's own keypad, screen or sensors set it before the first cycle, as
    /// INDEX=VALUE (repeatable): e.g. --set 407=1 allows remote alarm orders, as the alarm
    /// keypad does; --set 11=2 raises the washing machine's leak alert.
    #[arg(long = "set", value_name = "INDEX=VALUE", value_parser = parse_cell)]
    set: Vec<(Index, Value)>,
    #[command(flatten)]
    timing: TimingArgs,
}

/// `INDEX=VALUE` of `--set`: an index 0-952 and a value 0-255.
fn parse_cell(text: &str) -> Result<(Index, Value), String> {
    let (index, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not INDEX=VALUE (e.g. 407=1)"))?;
    let index: u16 = index
        .trim()
        .parse()
        .map_err(|_| format!("{index:?} is not an index 0-952"))?;
    let index = Index::new(index).map_err(|e| e.to_string())?;
    let value: u8 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a value 0-255"))?;
    Ok((index, Value(value)))
}

#[derive(Debug, Args)]
struct LoadArgs {
    #[command(flatten)]
    server: ServerArg,
    /// Number of boxes (1-10000).
    #[arg(long, default_value_t = 10)]
    boxes: usize,
    /// How long to run (e.g. 30s, 2m; at most 1h).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Pause between a box's cycles (0s: as fast as possible).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    interval: Duration,
    /// Pause of a box after a failed cycle (the real box's is about 20 s).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    error_pause: Duration,
    /// Seed of the boxes' keys (same seed, same fleet).
    #[arg(long, default_value_t = 1)]
    key_seed: u64,
    /// Stop each box after this many cycles.
    #[arg(long)]
    max_cycles: Option<u64>,
    /// Keep the firmware's 50 ms pauses between the steps of a cycle.
    #[arg(long)]
    firmware_gaps: bool,
    /// Accept a --server that is not a loopback address.
    #[arg(long)]
    allow_non_loopback: bool,
    #[command(flatten)]
    timing: TimingArgs,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Folder holding NAME.http requests, each with its NAME.reply expected reply.
    dir: PathBuf,
    #[command(flatten)]
    server: ServerArg,
    /// Write each missing NAME.reply from the server's reply (GUIDs and dates masked), never
    /// over an existing one, for a maintainer to review and commit. A recorded case is not a
    /// pass: the run still exits non-zero.
    #[arg(long)]
    record: bool,
    #[command(flatten)]
    timing: TimingArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bp-sim: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Load(args) => run_load(args).await,
            Command::Replay(args) => run_replay(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("bp-sim: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `bp-sim run`.
async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let server = args.server.server;
    let key = match args.key.as_deref().map(Key::parse) {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(error)) => bail!("invalid --key: {error}"),
    };
    let mut sim = BoxSim::new(SimConfig {
        key,
        version: args.status_version,
        timing: args.timing.timing(),
        ..SimConfig::new(server)
    });
    for (index, value) in &args.set {
        sim.set_cell(*index, *value);
        say!(
            "bp-sim: cell {} set to {} (as the box itself would)",
            index.get(),
            value.get()
        );
    }
    match sim.client_id() {
        Some(id) => say!("bp-sim: box {id} -> {server}"),
        None => say!("bp-sim: box without key (no Authorization header) -> {server}"),
    }

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let (mut count, mut failed) = (0u64, 0u64);
    loop {
        count += 1;
        let outcome = tokio::select! {
            outcome = sim.cycle() => outcome,
            _ = &mut ctrl_c => break,
        };
        print_cycle(count, &outcome, sim.last_report());
        if outcome.is_err() {
            failed += 1;
        }
        if args.cycles.is_some_and(|max| count >= max) {
            break;
        }
        let pause = match (&outcome, args.fast) {
            (Ok(_), true) => Duration::from_millis(50),
            (Err(_), true) => Duration::from_secs(1),
            (_, false) => BoxSim::pause_after(&outcome),
        };
        if outcome.is_err() {
            say!(
                "  waiting {} s before the next cycle (the real box re-inits its network)",
                pause.as_secs_f64()
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = &mut ctrl_c => break,
        }
    }
    say!("bp-sim: {count} cycles, {failed} failed");
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One cycle's summary line and its changes.
fn print_cycle(n: u64, outcome: &Result<CycleReport, CycleError>, report: &CycleReport) {
    let replies: Vec<String> = report
        .replies
        .iter()
        .map(|r| format!("{} {} B", r.endpoint, r.bytes))
        .collect();
    let acked = report.actions.iter().filter(|a| a.acked).count();
    let summary = format!(
        "connected={} infos={} actions={} (acked {acked}) replies: {}",
        report.connected,
        report.infos.len(),
        report.actions.len(),
        if replies.is_empty() {
            "none".to_string()
        } else {
            replies.join(", ")
        }
    );
    match outcome {
        Ok(_) => say!("cycle {n}: ok, {summary}"),
        Err(error) => say!("cycle {n}: FAILED ({}): {error}\n  {summary}", error.kind()),
    }
    for change in &report.changes {
        say!("  {change}");
    }
}

/// `bp-sim load`.
async fn run_load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let config = LoadConfig {
        interval: args.interval,
        error_pause: args.error_pause,
        key_seed: args.key_seed,
        max_cycles: args.max_cycles,
        timing: args.timing.timing(),
        step_gap: if args.firmware_gaps {
            essensys_bp_sim::sim::STEP_GAP
        } else {
            Duration::ZERO
        },
        allow_non_loopback: args.allow_non_loopback,
        ..LoadConfig::new(args.server.server, args.boxes, args.duration)
    };
    config.validate()?;
    say!(
        "bp-sim load: {} boxes -> {} for {:?}",
        config.boxes,
        config.server,
        config.duration
    );
    let report = load::run(config).await?;
    say!("{report}");
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `bp-sim replay`.
async fn run_replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let options = ReplayOptions {
        server: args.server.server,
        timing: args.timing.timing(),
        record: args.record,
    };
    let outcomes = replay::replay_dir(&args.dir, &options).await?;
    for outcome in &outcomes {
        let case = &outcome.case;
        say!(
            "== {} ({} bytes sent, read limit {})",
            case.name,
            case.request.len(),
            case.read_limit()
        );
        if let Ok(reply) = &outcome.reply {
            say!("{}", replay::render(&reply.bytes));
            say!(
                "-- {} bytes in {:.2} ms",
                reply.bytes.len(),
                reply.elapsed.as_secs_f64() * 1000.0
            );
        }
        let line = outcome.describe();
        if line.ends_with('\n') {
            say_raw!("{line}");
        } else {
            say!("{line}");
        }
    }
    let summary = Summary::of(&outcomes);
    say!("{summary}");
    Ok(if summary.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes to stdout; exits with success if the reader went away (broken pipe), as a filter
/// would.
fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_fmt(args).and_then(|()| out.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Parses `30s`, `500ms`, `2m`, `1h`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 500ms, 2m or 1h"))?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn a_key_is_taken_as_text() {
        let parsed = Cli::try_parse_from([
            "bp-sim",
            "run",
            "--key",
            "12345678901234567890123456789012",
            "--cycles",
            "1",
        ]);
        assert!(parsed.is_ok());
    }
}
