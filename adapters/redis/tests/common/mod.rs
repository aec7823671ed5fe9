//! Shared by the integration tests: a private redis-server, a `RedisState` on it and a
//! `Gateway` on that state (the contract's [`contract::Fixture`]: memory's deterministic clock,
//! guids and event recorder). The request helpers (`contact`, `id`, `lamp`, `poll`) are
//! `essensys_testkit::contract`'s.

#![allow(dead_code)]

use std::{ops::Deref, sync::Arc, time::Duration};

use essensys_core::{gateway::GatewayConfig, Gateway};
use essensys_memory::RecordedEvents;
use essensys_redis::{Health, RedisOptions, RedisState};
use essensys_testkit::{contract, RedisServer};

/// A private redis-server, a state on it and a gateway on that state. Derefs to the
/// contract's fixture (`f.gateway`, `f.events`), so it can be handed to the contract's laws.
pub struct Fixture {
    pub redis: RedisServer,
    pub state: Arc<RedisState>,
    pub contract: contract::Fixture,
}

impl Deref for Fixture {
    type Target = contract::Fixture;

    fn deref(&self) -> &contract::Fixture {
        &self.contract
    }
}

pub fn options(url: String) -> RedisOptions {
    RedisOptions {
        op_timeout: Duration::from_millis(500),
        ..RedisOptions::new(url)
    }
}

/// A fixture whose gateway has the default configuration.
pub async fn fixture() -> Fixture {
    fixture_with(GatewayConfig::default()).await
}

/// A fixture whose gateway has `config`.
pub async fn fixture_with(config: GatewayConfig) -> Fixture {
    let redis = RedisServer::start();
    let state = RedisState::connect(options(redis.url()))
        .await
        .expect("valid url");
    assert_eq!(state.health(), Health::Up, "redis at {}", redis.url());
    let contract = contract::Fixture::new(state.clone(), state.clone(), config);
    Fixture {
        redis,
        state,
        contract,
    }
}

pub fn gateway_on(state: &Arc<RedisState>) -> (Gateway, Arc<RecordedEvents>) {
    let contract::Fixture {
        gateway, events, ..
    } = contract::Fixture::new(state.clone(), state.clone(), GatewayConfig::default());
    (gateway, events)
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
