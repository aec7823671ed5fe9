//! `essensys-backend` — wires the adapters into the gateway service. No domain logic lives here:
//! configuration, composition, logging and shutdown only.
//!
//! [`serve`] is the whole service on an already-bound listener, so tests run the real thing
//! in-process on a free port.

#![deny(missing_docs)]

pub mod config;

use std::{future::Future, sync::Arc, time::Instant};

use anyhow::Context;
use essensys_core::{
    gateway::Ports,
    ports::{ActionQueue, ExchangeStore, NoEvents},
    Gateway,
};
use essensys_http_api::ApiState;
use essensys_legacy_http::{Admission, Server, ServerConfig, Stats};
use essensys_memory::{MemoryQueue, MemoryStore, RandomGuids, SystemClock};
use essensys_redis::{RedisOptions, RedisState};
use tokio::net::TcpListener;

pub use config::{Cli, Settings, StoreKind};

/// The gateway and, when state lives in Redis, the Redis adapter (for its health and counters).
pub struct Wiring {
    /// The use cases on the configured adapters.
    pub gateway: Arc<Gateway>,
    /// The Redis adapter, if `--store redis://…`.
    pub redis: Option<Arc<RedisState>>,
}

/// Builds the gateway on the configured store. A Redis store that cannot be reached yet is not
/// an error: the adapter says so, serves the box from its local cache and reconnects by itself.
pub async fn wire(settings: &Settings) -> anyhow::Result<Wiring> {
    let (store, queue, redis): (Arc<dyn ExchangeStore>, Arc<dyn ActionQueue>, _) =
        match &settings.store {
            StoreKind::Memory => (
                Arc::new(MemoryStore::new()),
                Arc::new(MemoryQueue::new()),
                None,
            ),
            StoreKind::Redis(url) => {
                let state = RedisState::connect(RedisOptions::new(url.clone()))
                    .await
                    .with_context(|| format!("cannot use the Redis store {}", redact_url(url)))?;
                (state.clone(), state.clone(), Some(state))
            }
        };
    let ports = Ports {
        store,
        queue,
        events: Arc::new(NoEvents),
        clock: Arc::new(SystemClock),
        guids: Arc::new(RandomGuids),
    };
    Ok(Wiring {
        gateway: Arc::new(Gateway::new(ports, settings.gateway.clone())),
        redis,
    })
}

/// A Redis URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Serves boxes and the API on `listener` until `shutdown` completes, then finishes the replies
/// in flight.
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future,
) -> anyhow::Result<()> {
    let Wiring { gateway, redis } = wire(&settings).await?;
    let stats = Arc::new(Stats::default());
    let debug_stats = stats.clone();
    let api = ApiState {
        gateway: gateway.clone(),
        admin_token: settings.admin_token.clone(),
        store_kind: settings.store.name(),
        started: Instant::now(),
        debug: Arc::new(move || {
            let mut counters: serde_json::Map<String, serde_json::Value> = debug_stats
                .snapshot()
                .into_iter()
                .map(|(name, n)| (name.to_string(), n.into()))
                .collect();
            if let Some(redis) = &redis {
                counters.insert("redis_round_trips".into(), redis.round_trips().into());
                counters.insert("redis".into(), format!("{:?}", redis.health()).into());
            }
            serde_json::Value::Object(counters)
        }),
    };
    let admission = if settings.box_keys.is_empty() {
        Admission::Open
    } else {
        Admission::Keys(settings.box_keys.clone())
    };
    let config = ServerConfig {
        request_deadline: settings.request_timeout,
        max_connections: settings.max_connections,
        admission,
    };
    let server = Server::new(gateway, essensys_http_api::router(api), config, stats);
    server.run(listener, shutdown).await;
    Ok(())
}
