//! Nothing lost, nothing twice: the backend binary on a real, private redis-server, with a
//! simulated box cycling through backend kills, Redis restarts, a 60 s Redis outage, and two
//! backends sharing one Redis.

use std::{
    collections::HashSet,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use essensys_bp_sim::{BoxSim, ExecutedAction, SimConfig};
use essensys_core::{matricule::Key, Index, Value};
use essensys_testkit::{free_port, wait_for_port, RedisServer};

mod common;
use common::api;

const BIN: &str = env!("CARGO_BIN_EXE_essensys-backend");
const KEY: &str = "12345678901234567890123456789012";

/// The backend binary on a free port, killed when dropped.
struct Backend {
    child: Child,
    port: u16,
}

impl Backend {
    fn spawn(redis_url: &str) -> Self {
        let port = free_port();
        let child = Command::new(BIN)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--store",
                redis_url,
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn backend");
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "backend did not start"
        );
        Self { child, port }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// SIGTERM, then waits for the exit: the graceful shutdown runs.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "SIGTERM not sent");
        self.child.wait().expect("wait")
    }

    /// SIGKILL: no shutdown code runs.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn sim(addr: SocketAddr) -> BoxSim {
    let key = Key::parse(KEY).expect("key");
    BoxSim::new(SimConfig {
        key: Some(key),
        step_gap: Duration::ZERO,
        ..SimConfig::new(addr)
    })
}

fn client_id() -> String {
    Key::parse(KEY).expect("key").client_id().to_string()
}

/// Queues an order; returns its guid (the scene it merged into, if it did).
async fn order(addr: SocketAddr, path: &str, body: &str) -> Result<String, (u16, String)> {
    let (status, reply) = api(addr, "POST", path, body).await;
    if status != 200 {
        return Err((status, reply));
    }
    let guid = reply
        .split("\"guid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("guid in reply");
    Ok(guid.to_string())
}

/// One cycle that must not fail: the box never sees an error reply.
async fn cycle(sim: &mut BoxSim) -> Vec<ExecutedAction> {
    let report = sim
        .cycle()
        .await
        .unwrap_or_else(|e| panic!("the box saw an error: {e}"));
    assert!(report.actions.iter().all(|a| a.acked));
    report.actions
}

/// Cycles until nothing more is delivered.
async fn drain(sim: &mut BoxSim, executed: &mut Vec<String>) {
    for _ in 0..30 {
        let actions = cycle(sim).await;
        if actions.is_empty() {
            return;
        }
        executed.extend(actions.into_iter().map(|a| a.guid));
    }
    panic!("actions still pending after 30 cycles");
}

/// Each queued guid executed exactly once.
fn assert_exactly_once(queued: &[String], executed: &[String]) {
    let unique: Vec<&String> = {
        let mut seen = HashSet::new();
        queued.iter().filter(|g| seen.insert(*g)).collect()
    };
    let mut counts = std::collections::HashMap::new();
    for guid in executed {
        *counts.entry(guid).or_insert(0) += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "executed more than once: {counts:?}"
    );
    assert_eq!(
        counts.len(),
        unique.len(),
        "queued {unique:?}, executed {executed:?}"
    );
    assert!(
        unique.iter().all(|g| counts.contains_key(g)),
        "queued {unique:?}, executed {executed:?}"
    );
}

fn queue_len(redis: &RedisServer) -> String {
    redis.cli(&["LLEN", &format!("essensys:client:{}:actions", client_id())])
}

const ORDERS: [(&str, &str); 5] = [
    ("/api/v1/lights/petite_chambre_3", r#"{"state":"on"}"#),
    ("/api/v1/lights/petite_chambre_3", r#"{"state":"off"}"#),
    ("/api/v1/shutters/salon_1", r#"{"state":"open"}"#),
    ("/api/v1/scenarios/5/launch", ""),
    ("/api/admin/inject", r#"{"k":349,"v":"17"}"#),
];

#[tokio::test]
async fn a_killed_backend_loses_nothing() {
    let redis = RedisServer::start();
    let mut backend = Backend::spawn(&redis.url());
    let mut box_a = sim(backend.addr());
    cycle(&mut box_a).await;
    let mut queued = Vec::new();
    for (path, body) in ORDERS {
        queued.push(order(backend.addr(), path, body).await.expect("queued"));
    }
    backend.kill9();
    let backend = Backend::spawn(&redis.url());
    box_a.set_server(backend.addr());
    let mut executed = Vec::new();
    drain(&mut box_a, &mut executed).await;
    assert_exactly_once(&queued, &executed);
    assert_eq!(queue_len(&redis), "0");
    // the box reports the heating mode it was given when next asked (every other cycle)
    cycle(&mut box_a).await;
    cycle(&mut box_a).await;
    // the keys other tools read are there, with the box's values
    let id = client_id();
    assert_eq!(
        redis.cli(&["HGET", &format!("essensys:client:{id}:exchange"), "349"]),
        "17"
    );
    assert_eq!(
        redis.cli(&["GET", &format!("essensys:client:{id}:connected")]),
        "true"
    );
    assert_eq!(redis.cli(&["GET", "essensys:meta:last_polled_client"]), id);
    // the matricule's user half (the id) is kept for other tools, never its password half
    let auth = redis.cli(&["HGET", &format!("essensys:client:{id}:authinfo"), "auth"]);
    let user_only = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:"))
    );
    assert_eq!(auth.trim(), user_only);
}

#[tokio::test]
async fn a_redis_restart_is_invisible_to_the_box() {
    let mut redis = RedisServer::start();
    let backend = Backend::spawn(&redis.url());
    let addr = backend.addr();
    let mut box_a = sim(addr);
    cycle(&mut box_a).await;
    // the box cycles on its own (every 50 ms) while orders come in and Redis restarts
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let cycling = tokio::spawn(async move {
        let mut executed = Vec::new();
        let mut cycles = 0;
        while stop_rx.try_recv().is_err() {
            executed.extend(cycle(&mut box_a).await.into_iter().map(|a| a.guid));
            cycles += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drain(&mut box_a, &mut executed).await;
        (executed, cycles)
    });
    let mut queued = Vec::new();
    for (n, (path, body)) in ORDERS.iter().enumerate() {
        if n == 2 {
            redis.restart();
        }
        // an order refused while Redis comes back (503) is given again: never lost silently
        let started = Instant::now();
        loop {
            match order(addr, path, body).await {
                Ok(guid) => break queued.push(guid),
                Err((503, _)) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(other) => panic!("order refused: {other:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop_tx.send(());
    let (executed, cycles) = cycling.await.expect("the box task");
    assert!(cycles >= 5, "the box kept cycling: {cycles} cycles");
    assert_exactly_once(&queued, &executed);
    assert_eq!(queue_len(&redis), "0");
}

#[tokio::test]
async fn a_minute_without_redis_keeps_the_house_running() {
    let mut redis = RedisServer::start();
    let backend = Backend::spawn(&redis.url());
    let mut box_a = sim(backend.addr());
    cycle(&mut box_a).await;
    // two orders pending when Redis goes away
    let queued = vec![
        order(backend.addr(), ORDERS[0].0, ORDERS[0].1)
            .await
            .expect("queued"),
        order(backend.addr(), ORDERS[2].0, ORDERS[2].1)
            .await
            .expect("queued"),
    ];
    redis.stop();
    let outage = Instant::now();
    let mut executed = Vec::new();
    let mut refused = 0;
    // the house changes while Redis is away: the box reports it
    box_a.set_cell(Index::new(349).expect("index"), Value(42));
    while outage.elapsed() < Duration::from_secs(60) {
        executed.extend(cycle(&mut box_a).await.into_iter().map(|a| a.guid));
        if refused == 0 {
            let (status, reply) = api(
                backend.addr(),
                "POST",
                "/api/admin/inject",
                r#"{"k":350,"v":"1"}"#,
            )
            .await;
            assert_eq!(status, 503, "{reply}");
            assert!(reply.contains("not queued"), "{reply}");
            refused += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_exactly_once(&queued, &executed);
    redis.restart();
    // the backend notices by itself, writes the remembered acks and the buffered report
    let back = Instant::now();
    let hash = format!("essensys:client:{}:exchange", client_id());
    while redis.cli(&["HGET", &hash, "349"]) != "42" || queue_len(&redis) != "0" {
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "buffers not flushed: 349={} queue={}",
            redis.cli(&["HGET", &hash, "349"]),
            queue_len(&redis)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // and nothing is executed twice afterwards
    drain(&mut box_a, &mut executed).await;
    assert_exactly_once(&queued, &executed);
}

#[tokio::test]
async fn sigterm_right_after_an_outage_writes_what_it_buffered() {
    let mut redis = RedisServer::start();
    let mut backend = Backend::spawn(&redis.url());
    let mut box_a = sim(backend.addr());
    cycle(&mut box_a).await;
    let queued = vec![order(backend.addr(), ORDERS[0].0, ORDERS[0].1)
        .await
        .expect("queued")];
    redis.stop();
    // Long enough for the reconnection task's backoff to reach its 5 s steps: after Redis
    // returns, it would not look for seconds, and the process is gone before.
    box_a.set_cell(Index::new(349).expect("index"), Value(42));
    let mut executed = Vec::new();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(9) {
        executed.extend(cycle(&mut box_a).await.into_iter().map(|a| a.guid));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_exactly_once(&queued, &executed);
    redis.restart();
    let status = backend.terminate();
    assert!(status.success(), "a clean exit: {status}");
    let hash = format!("essensys:client:{}:exchange", client_id());
    assert_eq!(
        redis.cli(&["HGET", &hash, "349"]),
        "42",
        "the report buffered during the outage reached Redis before exit"
    );
    assert_eq!(
        queue_len(&redis),
        "0",
        "the ack remembered during the outage reached Redis before exit"
    );
}

#[tokio::test]
async fn two_backends_share_one_redis() {
    let redis = RedisServer::start();
    let backends = [Backend::spawn(&redis.url()), Backend::spawn(&redis.url())];
    let mut box_a = sim(backends[0].addr());
    cycle(&mut box_a).await;
    let mut queued = Vec::new();
    let mut executed = Vec::new();
    for (n, (path, body)) in ORDERS.iter().enumerate() {
        queued.push(
            order(backends[n % 2].addr(), path, body)
                .await
                .expect("queued"),
        );
        box_a.set_server(backends[(n + 1) % 2].addr());
        executed.extend(cycle(&mut box_a).await.into_iter().map(|a| a.guid));
    }
    for n in 0..4 {
        box_a.set_server(backends[n % 2].addr());
        executed.extend(cycle(&mut box_a).await.into_iter().map(|a| a.guid));
    }
    assert_exactly_once(&queued, &executed);
    assert_eq!(queue_len(&redis), "0");
}
