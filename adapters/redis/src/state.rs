//! [`RedisState`]: the exchange store and action queue on Redis, its options and its lifecycle
//! (connect, background reconnection, health).

use std::{
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use deadpool_redis::{redis, Hook, Runtime};
use essensys_core::ports::{Clock, PortError};
use tokio::{sync::Notify, task::JoinHandle};

use crate::{
    conn::Redis,
    error::{redact, Failure, RedisError},
    outage::{Health, Outage},
    recovery,
};

/// How to reach Redis. (Its `Debug` masks the URL's password.)
#[derive(Clone)]
pub struct RedisOptions {
    /// `redis://[:PASSWORD@]HOST:PORT/DB`.
    pub url: String,
    /// The longest any Redis operation may take (default 1 s): a hung Redis never delays a
    /// box's reply by more, and only once — the store is then marked down.
    pub op_timeout: Duration,
    /// Connections kept for transactions (`push`); box requests share one multiplexed
    /// connection (default 8).
    pub pool_size: usize,
    /// The gateway's clock (default the machine's): dates an outage in [`Health::Down`].
    pub clock: Arc<dyn Clock>,
}

impl RedisOptions {
    /// Options for `url` with the defaults (1 s operation timeout, 8 pooled connections).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            op_timeout: Duration::from_secs(1),
            pool_size: 8,
            clock: Arc::new(essensys_system::SystemClock),
        }
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redact(&self.url))
            .field("op_timeout", &self.op_timeout)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl Default for RedisOptions {
    /// `redis://127.0.0.1:6379/0` with the defaults.
    fn default() -> Self {
        Self::new("redis://127.0.0.1:6379/0")
    }
}

/// What the ports and the reconnection task share.
pub(crate) struct Shared {
    /// Redis.
    pub(crate) redis: Redis,
    /// The local cache and the buffers.
    pub(crate) outage: Outage,
    /// The URL, password masked, for logs.
    pub(crate) shown_url: String,
    /// Wakes the reconnection task when Redis goes down.
    pub(crate) wake: Notify,
    /// One flush at a time.
    pub(crate) flushing: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Marks Redis down after `failure` (logs once, wakes the reconnection task).
    pub(crate) fn went_down(&self, failure: &Failure) {
        if self.outage.mark_down() {
            tracing::warn!(
                url = %self.shown_url,
                reason = %failure,
                "redis is unreachable: box replies are served from the local cache and status reports buffered until it is back; orders are refused meanwhile"
            );
            self.wake.notify_one();
        }
    }

    /// For operations that need Redis itself (orders, reads): when down, tries to bring it
    /// back right now (flushing the buffers) and says why not if it cannot.
    pub(crate) async fn ensure_up(&self, refusal: &str) -> Result<(), PortError> {
        if !self.outage.is_down() {
            return Ok(());
        }
        match self.recover().await {
            Ok(()) => Ok(()),
            Err(failure) => {
                tracing::debug!(reason = %failure, "redis still unreachable");
                Err(PortError::Unavailable(refusal.to_string()))
            }
        }
    }
}

/// The Essensys gateway's state on Redis: implements both
/// [`ExchangeStore`](essensys_core::ports::ExchangeStore) and
/// [`ActionQueue`](essensys_core::ports::ActionQueue). Share it behind the `Arc`
/// [`RedisState::connect`] returns; dropping the last one stops its reconnection task.
pub struct RedisState {
    pub(crate) shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl RedisState {
    /// Sets up the connection pool and starts the reconnection task (call it inside a tokio
    /// runtime). Does **not** fail when Redis is unreachable: it logs it, starts down (boxes
    /// served from the local cache, reports buffered) and reconnects by itself.
    ///
    /// # Errors
    /// Only when `options.url` is not a Redis URL (or the pool cannot be built from it).
    pub async fn connect(options: RedisOptions) -> Result<Arc<Self>, RedisError> {
        let shown_url = redact(&options.url);
        let op = options.op_timeout;
        let round_trips = Arc::new(AtomicU64::new(0));
        let recycles = round_trips.clone();
        let pool = deadpool_redis::Config::from_url(options.url.as_str())
            .builder()
            .map_err(|e| RedisError::InvalidUrl {
                url: shown_url.clone(),
                reason: e.to_string(),
            })?
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(op))
            .create_timeout(Some(op))
            .recycle_timeout(Some(op))
            .pre_recycle(Hook::sync_fn(move |_, _| {
                recycles.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }))
            .build()
            .map_err(|e| RedisError::Pool(e.to_string()))?;
        let shared = Arc::new(Shared {
            redis: Redis::new(pool, op, round_trips),
            outage: Outage::new(options.clock.clone()),
            shown_url,
            wake: Notify::new(),
            flushing: tokio::sync::Mutex::new(()),
        });
        let mut ping = redis::pipe();
        ping.cmd("PING").ignore();
        match shared.redis.pipeline::<()>(&ping).await {
            Ok(()) => tracing::info!(url = %shared.shown_url, "redis connected"),
            Err(failure) => {
                shared.outage.mark_down();
                tracing::warn!(
                    reason = %failure,
                    "redis at {} unreachable: starting anyway; box replies are served from the local cache and status reports buffered until it is back",
                    shared.shown_url
                );
            }
        }
        let task = tokio::spawn(recovery::reconnect(shared.clone()));
        Ok(Arc::new(Self { shared, task }))
    }

    /// Whether Redis is reachable, and what waits to be written back if not.
    pub fn health(&self) -> Health {
        self.shared.outage.health()
    }

    /// Writes back, once, what an outage buffered (acks, delivery marks, status reports,
    /// device states, polls) if Redis answers within `within`, and returns the health
    /// afterwards. For the app's shutdown: the reconnection task retries only every few
    /// seconds, and what is still buffered when the process exits is lost.
    pub async fn flush(&self, within: Duration) -> Health {
        if self.shared.outage.is_down() {
            match tokio::time::timeout(within, self.shared.recover()).await {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => tracing::debug!(reason = %failure, "flush at shutdown failed"),
                Err(_) => tracing::debug!("flush at shutdown timed out"),
            }
        }
        self.health()
    }

    /// Requests sent to Redis so far (a pipeline or a script counts once; a transaction
    /// counts each of its steps): for metrics, and for tests that check a box request costs
    /// one round trip.
    pub fn round_trips(&self) -> u64 {
        self.shared.redis.round_trips()
    }
}

impl fmt::Debug for RedisState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisState")
            .field("url", &self.shared.shown_url)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

impl Drop for RedisState {
    fn drop(&mut self) {
        self.task.abort();
    }
}
