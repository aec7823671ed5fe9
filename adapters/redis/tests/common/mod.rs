//! Shared by the integration tests: a private redis-server, a `RedisState` on it and a
//! `Gateway` on that state (with memory's deterministic clock, guids and event recorder).

#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use essensys_core::{
    catalog::DeviceKind,
    gateway::{GatewayConfig, Ports},
    order::{DeviceOrder, Switch},
    ports::{Contact, Timestamp},
    ClientId, Gateway, Order,
};
use essensys_memory::{CountingGuids, ManualClock, RecordedEvents};
use essensys_redis::{Health, RedisOptions, RedisState};
use essensys_testkit::RedisServer;

pub struct Fixture {
    pub redis: RedisServer,
    pub state: Arc<RedisState>,
    pub gateway: Gateway,
    pub events: Arc<RecordedEvents>,
}

pub fn options(url: String) -> RedisOptions {
    RedisOptions {
        op_timeout: Duration::from_millis(500),
        ..RedisOptions::new(url)
    }
}

/// A private redis-server that answers `PING`.
pub fn start_redis() -> RedisServer {
    let redis = RedisServer::start();
    wait_ready(&redis);
    redis
}

/// Waits until the server answers `PING`: the testkit's port check can succeed before
/// redis-server listens (a loopback connect to a free port in the ephemeral range may
/// connect to itself), which would make the first request of a test fail.
pub fn wait_ready(redis: &RedisServer) {
    let start = std::time::Instant::now();
    while redis.cli(&["PING"]) != "PONG" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis-server at {} does not answer",
            redis.url()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub async fn fixture() -> Fixture {
    let redis = start_redis();
    let state = RedisState::connect(options(redis.url()))
        .await
        .expect("valid url");
    assert_eq!(state.health(), Health::Up, "redis at {}", redis.url());
    let (gateway, events) = gateway_on(&state);
    Fixture {
        redis,
        state,
        gateway,
        events,
    }
}

pub fn gateway_on(state: &Arc<RedisState>) -> (Gateway, Arc<RecordedEvents>) {
    let events = Arc::new(RecordedEvents::default());
    let ports = Ports {
        store: state.clone(),
        queue: state.clone(),
        events: events.clone(),
        clock: Arc::new(ManualClock::new(Timestamp(1_000))),
        guids: Arc::new(CountingGuids::default()),
    };
    (Gateway::new(ports, GatewayConfig::default()), events)
}

pub fn contact(at: u64) -> Contact {
    Contact {
        at: Timestamp(at),
        address: "192.0.2.7".parse().ok(),
        authorization: Some("Basic NzY3MTc5YzdhMmJmZjE5Njo1MWNlOTdkMjk0YzMwY2Zi".into()),
    }
}

pub fn id(s: &str) -> ClientId {
    ClientId::new(s).expect("client id")
}

pub fn lamp(on: bool) -> Order {
    let switch = if on {
        Switch::OnOrOpen
    } else {
        Switch::OffOrClose
    };
    Order::Devices(vec![DeviceOrder::find(
        DeviceKind::Light,
        "petite_chambre_3",
        switch,
    )
    .expect("lamp")])
}

/// `myactions` through the gateway: the body and how many actions it carries.
pub async fn poll(gateway: &Gateway, client: &ClientId, budget: usize) -> (String, usize) {
    let mut out = Vec::new();
    let guids = gateway
        .poll_actions(client, budget, &mut out)
        .await
        .expect("poll");
    (String::from_utf8(out).expect("utf-8"), guids.len())
}

/// Waits (polling `health`, no fixed sleep) until the state is up again.
pub async fn wait_up(state: &RedisState, within: Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < within {
        if state.health() == Health::Up {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// `redis-cli` output split into lines (one element or field per line).
pub fn lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `HGETALL` as sorted `(field, value)` pairs.
pub fn hash(redis: &RedisServer, key: &str) -> Vec<(String, String)> {
    let lines = lines(&redis.cli(&["HGETALL", key]));
    let mut pairs: Vec<(String, String)> = lines
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    pairs.sort();
    pairs
}
