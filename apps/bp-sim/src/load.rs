//! A fleet of simulated boxes against one server: throughput, per-request latency and errors.
//!
//! Each box is a [`BoxSim`] with its own key (derived from a seed by [`fleet_key`], so each has
//! its own client id) running cycles back to back (or every [`LoadConfig::interval`]) in its own
//! task, until [`LoadConfig::duration`] has passed or it has run
//! [`LoadConfig::max_cycles`]. A cycle still running at the deadline is abandoned and not
//! counted. Every box talks to [`LoadConfig::server`] only, and only a loopback address is
//! accepted unless [`LoadConfig::allow_non_loopback`] is set.

use std::{collections::BTreeMap, fmt, net::SocketAddr, time::Duration};

use essensys_core::matricule::Key;
use thiserror::Error;
use tokio::{
    task::JoinSet,
    time::{sleep_until, timeout_at, Instant},
};

use crate::{exchange::Timing, BoxSim, SimConfig};

/// The most boxes one run may simulate (each holds at most one socket at a time).
pub const MAX_BOXES: usize = 10_000;
/// The longest run.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// How many error messages a report keeps as examples.
const EXAMPLES: usize = 5;

/// How to run a fleet.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The server every box talks to.
    pub server: SocketAddr,
    /// How many boxes (1–[`MAX_BOXES`]).
    pub boxes: usize,
    /// How long to run (at most [`MAX_DURATION`]).
    pub duration: Duration,
    /// The pause between a box's cycles (zero: back to back).
    pub interval: Duration,
    /// The pause after a failed cycle (the real box's is about 20 s).
    pub error_pause: Duration,
    /// The seed the boxes' keys are derived from.
    pub key_seed: u64,
    /// Stop each box after that many cycles.
    pub max_cycles: Option<u64>,
    /// Timeouts of each request.
    pub timing: Timing,
    /// The pause between the steps of a cycle (the firmware's is 50 ms).
    pub step_gap: Duration,
    /// Accept a server address that is not loopback.
    pub allow_non_loopback: bool,
}

impl LoadConfig {
    /// `boxes` boxes for `duration`, back to back, no step gap, 1 s pause after an error, seed 1.
    pub fn new(server: SocketAddr, boxes: usize, duration: Duration) -> Self {
        Self {
            server,
            boxes,
            duration,
            interval: Duration::ZERO,
            error_pause: Duration::from_secs(1),
            key_seed: 1,
            max_cycles: None,
            timing: Timing::default(),
            step_gap: Duration::ZERO,
            allow_non_loopback: false,
        }
    }
}

impl LoadConfig {
    /// Checks the bounds [`run`] enforces: 1–[`MAX_BOXES`] boxes, a duration in
    /// (0, [`MAX_DURATION`]], a loopback server unless allowed.
    ///
    /// # Errors
    /// The first [`LoadError`] found.
    pub fn validate(&self) -> Result<(), LoadError> {
        if self.boxes == 0 || self.boxes > MAX_BOXES {
            return Err(LoadError::Boxes(self.boxes));
        }
        if self.duration.is_zero() || self.duration > MAX_DURATION {
            return Err(LoadError::Duration(self.duration));
        }
        if !self.server.ip().is_loopback() && !self.allow_non_loopback {
            return Err(LoadError::NotLoopback(self.server));
        }
        Ok(())
    }
}

/// A configuration that cannot be run.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LoadError {
    /// No boxes, or more than [`MAX_BOXES`].
    #[error("the fleet must have 1 to {MAX_BOXES} boxes, got {0}")]
    Boxes(usize),
    /// A zero duration or one above [`MAX_DURATION`].
    #[error("the duration must be above zero and at most {MAX_DURATION:?}, got {0:?}")]
    Duration(Duration),
    /// The server is not a loopback address and that was not allowed.
    #[error("{0} is not a loopback address; a load run only targets a local server unless allowed explicitly")]
    NotLoopback(SocketAddr),
}

/// Latency of the requests that got a reply, connect to reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// How many requests were measured.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

impl Latency {
    /// Percentiles of `samples` (nearest rank); `None` if empty.
    pub fn of(mut samples: Vec<Duration>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let rank = |p: usize| samples[(samples.len() * p).div_ceil(100).saturating_sub(1)];
        Some(Self {
            count: samples.len(),
            p50: rank(50),
            p99: rank(99),
            max: samples[samples.len() - 1],
        })
    }
}

/// What a fleet run measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadReport {
    /// How many boxes ran.
    pub boxes: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Cycles that ended without error.
    pub cycles_ok: u64,
    /// Cycles that ended with an error.
    pub cycles_failed: u64,
    /// Requests made (replied or failed).
    pub requests: u64,
    /// Latency of the requests that got a reply.
    pub latency: Option<Latency>,
    /// Failed cycles by [`CycleError::kind`](crate::CycleError::kind).
    pub errors: BTreeMap<&'static str, u64>,
    /// The first few error messages, for a hint.
    pub examples: Vec<String>,
}

impl LoadReport {
    /// Successful cycles per second.
    pub fn cycles_per_sec(&self) -> f64 {
        per_sec(self.cycles_ok, self.elapsed)
    }

    /// Requests per second.
    pub fn requests_per_sec(&self) -> f64 {
        per_sec(self.requests, self.elapsed)
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} boxes, {:.1} s: {} cycles ok ({:.1}/s), {} failed; {} requests ({:.1}/s)",
            self.boxes,
            self.elapsed.as_secs_f64(),
            self.cycles_ok,
            self.cycles_per_sec(),
            self.cycles_failed,
            self.requests,
            self.requests_per_sec()
        )?;
        match &self.latency {
            Some(l) => writeln!(
                f,
                "latency per request (connect -> reply, {} requests): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                l.count,
                ms(l.p50),
                ms(l.p99),
                ms(l.max)
            )?,
            None => writeln!(f, "latency: no request got a reply")?,
        }
        if self.errors.is_empty() {
            write!(f, "errors: none")
        } else {
            let kinds: Vec<String> = self
                .errors
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            write!(f, "errors: {}", kinds.join(", "))?;
            for example in &self.examples {
                write!(f, "\n  e.g. {example}")?;
            }
            Ok(())
        }
    }
}

/// The key of box `n` of a fleet: 10 digits of `n` (so keys are distinct) then 22 digits
/// drawn from `seed` and `n`.
pub fn fleet_key(seed: u64, n: usize) -> Key {
    let mut digits = format!("{:010}", n % 10_000_000_000);
    let mut state = seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    while digits.len() < 32 {
        state = splitmix64(state);
        digits.push(char::from(b'0' + (state % 10) as u8));
    }
    // 32 ASCII digits by construction.
    Key::parse(&digits).unwrap_or_else(|_| unreachable!("32 generated digits"))
}

/// Runs the fleet and reports.
///
/// # Errors
/// A [`LoadError`] if the configuration is out of bounds; nothing is sent then.
pub async fn run(config: LoadConfig) -> Result<LoadReport, LoadError> {
    config.validate()?;

    let start = Instant::now();
    let deadline = start + config.duration;
    let mut tasks = JoinSet::new();
    for n in 0..config.boxes {
        let sim = BoxSim::new(SimConfig {
            key: Some(fleet_key(config.key_seed, n)),
            timing: config.timing,
            step_gap: config.step_gap,
            ..SimConfig::new(config.server)
        });
        tasks.spawn(run_box(sim, config.clone(), deadline));
    }

    let mut report = LoadReport {
        boxes: config.boxes,
        elapsed: Duration::ZERO,
        cycles_ok: 0,
        cycles_failed: 0,
        requests: 0,
        latency: None,
        errors: BTreeMap::new(),
        examples: Vec::new(),
    };
    let mut samples = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let stats = match joined {
            Ok(stats) => stats,
            Err(error) => {
                *report.errors.entry("task-panic").or_default() += 1;
                report.examples.push(format!("a box task failed: {error}"));
                continue;
            }
        };
        report.cycles_ok += stats.ok;
        report.cycles_failed += stats.failed;
        report.requests += stats.requests;
        samples.extend(stats.latencies);
        for (kind, n) in stats.errors {
            *report.errors.entry(kind).or_default() += n;
        }
        for example in stats.examples {
            if report.examples.len() < EXAMPLES {
                report.examples.push(example);
            }
        }
    }
    report.elapsed = start.elapsed();
    report.latency = Latency::of(samples);
    Ok(report)
}

/// What one box measured.
#[derive(Default)]
struct BoxStats {
    ok: u64,
    failed: u64,
    requests: u64,
    latencies: Vec<Duration>,
    errors: BTreeMap<&'static str, u64>,
    examples: Vec<String>,
}

/// One box's loop, bounded by the deadline and the cycle cap.
async fn run_box(mut sim: BoxSim, config: LoadConfig, deadline: Instant) -> BoxStats {
    let mut stats = BoxStats::default();
    let mut cycles = 0u64;
    while Instant::now() < deadline && config.max_cycles.is_none_or(|max| cycles < max) {
        cycles += 1;
        let outcome = timeout_at(deadline, sim.cycle()).await;
        for reply in &sim.last_report().replies {
            stats.requests += 1;
            stats.latencies.push(reply.elapsed);
        }
        let pause = match outcome {
            Err(_) => break,
            Ok(Ok(_)) => {
                stats.ok += 1;
                config.interval
            }
            Ok(Err(error)) => {
                stats.failed += 1;
                if error.is_transport() {
                    stats.requests += 1;
                }
                *stats.errors.entry(error.kind()).or_default() += 1;
                if stats.examples.len() < EXAMPLES {
                    stats.examples.push(error.to_string());
                }
                config.interval.max(config.error_pause)
            }
        };
        if !pause.is_zero() {
            sleep_until((Instant::now() + pause).min(deadline)).await;
        }
    }
    stats
}

/// `count` per second over `elapsed`.
fn per_sec(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// A duration in milliseconds.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The splitmix64 step.
fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_keys_are_distinct_and_stable() {
        let a = fleet_key(7, 0);
        assert_eq!(a, fleet_key(7, 0));
        assert_ne!(a, fleet_key(7, 1));
        let id = |key: &Key| crate::key::BoxKey::of(key).map(|k| k.client_id());
        assert_ne!(id(&a), id(&fleet_key(7, 1)));
        assert_ne!(fleet_key(7, 3), fleet_key(8, 3));
        assert!(fleet_key(1, 42).digits().starts_with(b"0000000042"));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(samples).expect("samples");
        assert_eq!(l.p50, Duration::from_millis(50));
        assert_eq!(l.p99, Duration::from_millis(99));
        assert_eq!(l.max, Duration::from_millis(100));
        assert_eq!(Latency::of(Vec::new()), None);
        let one = Latency::of(vec![Duration::from_millis(3)]).expect("one");
        assert_eq!(
            (one.p50, one.p99),
            (Duration::from_millis(3), Duration::from_millis(3))
        );
    }

    #[tokio::test]
    async fn bounds_are_checked_before_anything_is_sent() {
        let local: SocketAddr = ([127, 0, 0, 1], 9).into();
        let remote: SocketAddr = ([192, 0, 2, 1], 80).into();
        let second = Duration::from_secs(1);
        assert_eq!(
            run(LoadConfig::new(local, 0, second)).await,
            Err(LoadError::Boxes(0))
        );
        assert_eq!(
            run(LoadConfig::new(local, 1, Duration::ZERO)).await,
            Err(LoadError::Duration(Duration::ZERO))
        );
        assert_eq!(
            run(LoadConfig::new(remote, 1, second)).await,
            Err(LoadError::NotLoopback(remote))
        );
    }
}
