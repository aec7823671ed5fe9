//! `essensys-backend` — wires the adapters into the gateway service. No domain logic lives here:
//! configuration, composition, logging and shutdown only.
//!
//! [`serve`] is the whole service on an already-bound listener, so tests run the real thing
//! in-process on a free port.

#![deny(missing_docs)]

pub mod config;
pub mod process;

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use anyhow::Context;
use essensys_core::{
    event::FanOut,
    gateway::Ports,
    ports::{ActionQueue, Clock, Event, ExchangeStore},
    Gateway,
};
use essensys_events::Counters;
use essensys_http_api::{
    live::{Live, LiveTask},
    About, ApiState,
};
use essensys_legacy_http::{Admission, Server, ServerConfig};
use essensys_memory::{MemoryQueue, MemoryStore};
use essensys_mqtt::Bridge;
use essensys_prometheus::Recorder;
use essensys_redis::{RedisOptions, RedisState};
use essensys_system::{RandomGuids, SystemClock};
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};

pub use config::{Cli, Settings, StoreKind};

/// The capacity of the channel feeding the MQTT bridge: a burst of this many events may wait
/// while the bridge publishes; beyond, events are dropped and counted (the box never waits).
const MQTT_EVENTS: usize = 4096;

/// The gateway and what listens to it.
pub struct Wiring {
    /// The use cases on the configured adapters.
    pub gateway: Arc<Gateway>,
    /// The Redis adapter, if `--store redis://…`.
    pub redis: Option<Arc<RedisState>>,
    /// What happened, counted (for `/debug`).
    pub counters: Arc<Counters>,
    /// What happened, for `/metrics`.
    pub recorder: Arc<Recorder>,
    /// The MQTT bridge's event stream and the count of events it dropped, when configured.
    pub mqtt_events: Option<(mpsc::Receiver<Event>, Arc<AtomicU64>)>,
    /// The dashboard's notices, and the task that makes them.
    pub live: (Live, LiveTask),
}

/// Builds the gateway on the configured store, its events fanned out to the counters and, when
/// configured, the MQTT bridge. A Redis store that cannot be reached yet is not an error: the
/// adapter says so, serves the box from its local cache and reconnects by itself.
pub async fn wire(settings: &Settings) -> anyhow::Result<Wiring> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, queue, redis): (Arc<dyn ExchangeStore>, Arc<dyn ActionQueue>, _) =
        match &settings.store {
            StoreKind::Memory => (
                Arc::new(MemoryStore::new()),
                Arc::new(MemoryQueue::new()),
                None,
            ),
            StoreKind::Redis(url) => {
                let options = RedisOptions {
                    clock: clock.clone(),
                    ..RedisOptions::new(url.clone())
                };
                let state = RedisState::connect(options)
                    .await
                    .with_context(|| format!("cannot use the Redis store {}", redact_url(url)))?;
                (state.clone(), state.clone(), Some(state))
            }
        };
    let counters = Arc::new(Counters::default());
    let recorder = Arc::new(Recorder::default());
    let (live, live_sink, live_task) = Live::new(settings.box_timeout);
    let mut events = FanOut::new()
        .with(counters.clone())
        .with(recorder.clone())
        .with(Arc::new(live_sink));
    let mut mqtt_events = None;
    if settings.mqtt.is_some() {
        let (sink, rx) = essensys_events::channel("mqtt", MQTT_EVENTS, essensys_mqtt::wanted());
        mqtt_events = Some((rx, sink.dropped_counter()));
        events = events.with(Arc::new(sink));
    }
    let ports = Ports {
        store,
        queue,
        events: Arc::new(events),
        clock,
        guids: Arc::new(RandomGuids),
    };
    Ok(Wiring {
        gateway: Arc::new(Gateway::new(ports, settings.gateway.clone())),
        redis,
        counters,
        recorder,
        mqtt_events,
        live: (live, live_task),
    })
}

/// What MCP's metrics and diagnostic read of this process.
fn vitals(
    settings: &Settings,
    counters: &Arc<Counters>,
    redis: Option<&Arc<RedisState>>,
    mqtt: Option<&(Arc<AtomicBool>, Arc<AtomicU64>)>,
) -> essensys_mcp::Vitals {
    let counters = counters.clone();
    essensys_mcp::Vitals {
        store_kind: settings.store.name(),
        store_health: redis.map(|redis| {
            let redis = redis.clone();
            Arc::new(move || {
                let health = redis.health();
                essensys_mcp::StoreHealth {
                    up: matches!(health, essensys_redis::Health::Up),
                    detail: format!("{health:?}"),
                }
            }) as essensys_mcp::Probe<_>
        }),
        mqtt_connected: mqtt.map(|(connected, _)| {
            let connected = connected.clone();
            Arc::new(move || connected.load(Ordering::Relaxed)) as essensys_mcp::Probe<_>
        }),
        counters: Some(Arc::new(move || {
            counters
                .snapshot()
                .into_iter()
                .map(|(name, n)| (name.to_string(), n))
                .collect()
        })),
    }
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

/// Serves boxes and the API on `listener` (and runs the MQTT bridge when configured) until
/// `shutdown` completes, then finishes the replies in flight and says goodbye to the broker.
pub async fn serve(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future,
) -> anyhow::Result<()> {
    let Wiring {
        gateway,
        redis,
        counters,
        recorder,
        mqtt_events,
        live: (live, live_task),
    } = wire(&settings).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let live_task = tokio::spawn(live_task.run(stopped(stop_rx.clone())));
    let mut mqtt_status: Option<(Arc<AtomicBool>, Arc<AtomicU64>)> = None;
    let mut bridge_task = None;
    if let (Some(options), Some((events, dropped))) = (settings.mqtt.clone(), mqtt_events) {
        let shown = options.broker.shown();
        let bridge = Bridge::new(options, gateway.clone(), events).context("--mqtt-url")?;
        mqtt_status = Some((bridge.connected_flag(), dropped));
        tracing::info!(broker = %shown, "Home Assistant bridge on");
        bridge_task = Some(tokio::spawn(bridge.run(stopped(stop_rx.clone()))));
    }
    let sweep_task = settings.forget_after.map(|after| {
        tokio::spawn(forget_silent_boxes(
            gateway.clone(),
            after,
            stopped(stop_rx.clone()),
        ))
    });
    let mcp = settings.mcp.as_ref().map(|mcp| {
        let vitals = vitals(&settings, &counters, redis.as_ref(), mqtt_status.as_ref());
        mcp.config(vitals)
    });
    let metrics = essensys_prometheus::Sources {
        gateway: gateway.clone(),
        recorder,
        store_up: redis.clone().map(|redis| {
            Arc::new(move || matches!(redis.health(), essensys_redis::Health::Up))
                as essensys_prometheus::Probe<bool>
        }),
        mqtt_connected: mqtt_status.as_ref().map(|(connected, _)| {
            let connected = connected.clone();
            Arc::new(move || connected.load(Ordering::Relaxed)) as essensys_prometheus::Probe<bool>
        }),
    };
    let debug_counters = counters.clone();
    let redis_at_exit = redis.clone();
    let api = ApiState {
        gateway: gateway.clone(),
        admin_token: settings.admin_token.clone(),
        trusted_proxies: settings.trusted_proxies.clone().into(),
        store_kind: settings.store.name(),
        started: Instant::now(),
        debug: Arc::new(move || {
            let mut counters: serde_json::Map<String, serde_json::Value> = debug_counters
                .snapshot()
                .into_iter()
                .map(|(name, n)| (name.to_string(), n.into()))
                .collect();
            if let Some(redis) = &redis {
                counters.insert("redis_round_trips".into(), redis.round_trips().into());
                counters.insert("redis".into(), format!("{:?}", redis.health()).into());
            }
            if let Some((connected, dropped)) = &mqtt_status {
                let state = if connected.load(Ordering::Relaxed) {
                    "connected"
                } else {
                    "disconnected"
                };
                counters.insert("mqtt".into(), state.into());
                counters.insert(
                    "mqtt_events_dropped".into(),
                    dropped.load(Ordering::Relaxed).into(),
                );
            }
            serde_json::Value::Object(counters)
        }),
        live,
        box_timeout: settings.box_timeout,
        about: About {
            version: env!("CARGO_PKG_VERSION"),
            mqtt: settings
                .mqtt
                .as_ref()
                .map(|o| format!("{}:{}", o.broker.host, o.broker.port)),
            mcp: settings.mcp.is_some(),
        },
        dashboard: Some(settings.dashboard.clone()),
    };
    if settings.dashboard.join("index.html").is_file() {
        tracing::info!(dir = %settings.dashboard.display(), "dashboard served at /");
    } else {
        tracing::info!(dir = %settings.dashboard.display(), "dashboard not built there: / says how (the API works without it)");
    }
    let admission = if settings.box_keys.is_empty() {
        Admission::Open
    } else {
        Admission::Keys(settings.box_keys.clone())
    };
    let config = ServerConfig {
        request_deadline: settings.request_timeout,
        head_deadline: settings.head_timeout,
        max_connections: settings.max_connections,
        max_per_source: settings.max_connections_per_source,
        unlimited_sources: settings.trusted_proxies.clone(),
        admission,
        reply_headroom: settings.reply_headroom,
    };
    let mut router = essensys_http_api::router(api).merge(essensys_prometheus::routes(metrics));
    match mcp {
        Some(mcp) => {
            tracing::info!(allowed_hosts = ?mcp.allowed_hosts, "MCP on: /mcp (Streamable HTTP), /sse + /messages (legacy SSE)");
            router = router.merge(essensys_mcp::routes(gateway.clone(), mcp));
        }
        None => tracing::info!("MCP off: give --mcp-token (or --mcp-token-file) to serve agents"),
    }
    let server = Server::new(gateway, router, config);
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    server.run(listener, signal).await;
    if let Some(task) = bridge_task {
        let _ = task.await;
    }
    if let Some(task) = sweep_task {
        let _ = task.await;
    }
    let _ = live_task.await;
    if let Some(redis) = redis_at_exit {
        flush_at_exit(&redis).await;
    }
    Ok(())
}

/// How long the shutdown waits for Redis to take what an outage buffered.
const EXIT_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// At exit, hands Redis what an outage buffered (if it is back), and says what is lost if not.
async fn flush_at_exit(redis: &RedisState) {
    if redis.health() == essensys_redis::Health::Up {
        return;
    }
    match redis.flush(EXIT_FLUSH).await {
        essensys_redis::Health::Up => {
            tracing::info!("redis is back: what the outage buffered was written before exit");
        }
        essensys_redis::Health::Down {
            buffered_reports,
            remembered_acks,
            buffered_devices,
            ..
        } => tracing::warn!(
            buffered_reports,
            remembered_acks,
            buffered_devices,
            "redis still unreachable at exit: these buffered writes are lost (the box reports its cells again, but actions it acknowledged during the outage will be sent to it again)"
        ),
    }
}

/// Every hour until `stop`, forgets the boxes silent for `after` with nothing waiting.
async fn forget_silent_boxes(gateway: Arc<Gateway>, after: std::time::Duration, stop: impl Future) {
    let sweep = async {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let silent_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
            match gateway.forget_silent(silent_ms).await {
                Ok(forgotten) if forgotten.is_empty() => {}
                Ok(forgotten) => {
                    tracing::info!(
                        ?forgotten,
                        days = after.as_secs() / 86_400,
                        "forgot boxes silent that long with nothing waiting"
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not sweep silent boxes: retrying in an hour")
                }
            }
        }
    };
    tokio::select! {
        () = sweep => {}
        _ = stop => {}
    }
}
