//! Connections: how each operation reaches Redis, bounded in time and counted.
//!
//! - **Box requests** (scripts, pipelines, reads) go through one shared multiplexed connection:
//!   Redis pipelines concurrent requests on it, so each costs exactly its own round trip.
//!   (Taking a connection from the pool costs one more: deadpool-redis checks every recycled
//!   connection with a `PING`.)
//! - **Transactions** (`WATCH` … `MULTI`/`EXEC`: pushing an order, migrating the legacy list)
//!   need a connection of their own: they take one from the deadpool-redis pool.
//!
//! Every operation is wrapped in the operation timeout, so a hung Redis costs a box request at
//! most that long, once: the first failure marks the store down and later requests are served
//! locally. A connection that failed or timed out is dropped, never reused. The shared
//! connection is opened lazily (loading the scripts in the same step); when a request finds it
//! dead (Redis restarted since), the request is retried once on a new connection, so a Redis
//! restart between two box requests costs one extra round trip, not an outage.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use deadpool_redis::{
    redis::{self, aio::ConnectionLike, aio::MultiplexedConnection, Cmd, Pipeline, RedisFuture},
    Pool,
};

use crate::{error::Failure, scripts};

/// Redis as the rest of the crate sees it.
pub(crate) struct Redis {
    pool: Pool,
    shared: Mutex<Option<MultiplexedConnection>>,
    op_timeout: Duration,
    round_trips: Arc<AtomicU64>,
}

impl Redis {
    /// Wraps a pool (nothing is connected yet). `round_trips` is also counted by the pool's
    /// recycle hook (deadpool-redis checks each connection it hands out again with a `PING`).
    pub(crate) fn new(pool: Pool, op_timeout: Duration, round_trips: Arc<AtomicU64>) -> Self {
        Self {
            pool,
            shared: Mutex::new(None),
            op_timeout,
            round_trips,
        }
    }

    /// Requests sent to Redis so far (a pipeline or a script counts once).
    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    fn shared_slot(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets the shared connection (after it failed): the next operation opens a new one.
    pub(crate) fn reset(&self) {
        self.shared_slot().take();
    }

    /// Runs `op` within the operation timeout; a connectivity failure drops the shared
    /// connection.
    pub(crate) async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let outcome = match tokio::time::timeout(self.op_timeout, op).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::timed_out(self.op_timeout)),
        };
        if outcome.as_ref().is_err_and(Failure::is_unreachable) {
            self.reset();
        }
        outcome
    }

    /// The shared multiplexed connection, opened (and the scripts loaded) if needed; `true`
    /// when it was just opened.
    async fn shared(&self) -> Result<(Counted<'_, MultiplexedConnection>, bool), Failure> {
        let existing = self.shared_slot().clone();
        if let Some(conn) = existing {
            return Ok((Counted::owned(conn, &self.round_trips), false));
        }
        let pooled = self.pool.get().await?;
        let mut conn = deadpool_redis::Connection::take(pooled);
        let mut counted = Counted::new(&mut conn, &self.round_trips);
        scripts::preload().query_async::<()>(&mut counted).await?;
        self.shared_slot().replace(conn.clone());
        Ok((Counted::owned(conn, &self.round_trips), true))
    }

    /// Runs a script on the shared connection: one round trip.
    pub(crate) async fn script<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, Failure> {
        self.bounded(async {
            let (mut conn, fresh) = self.shared().await?;
            match invocation.invoke_async(&mut conn).await {
                Err(e) if stale(&e, fresh) => {
                    self.reset();
                    let (mut conn, _) = self.shared().await?;
                    Ok(invocation.invoke_async(&mut conn).await?)
                }
                outcome => Ok(outcome?),
            }
        })
        .await
    }

    /// Runs a pipeline on the shared connection: one round trip.
    pub(crate) async fn pipeline<T: redis::FromRedisValue>(
        &self,
        pipe: &Pipeline,
    ) -> Result<T, Failure> {
        self.bounded(async {
            let (mut conn, fresh) = self.shared().await?;
            match pipe.query_async(&mut conn).await {
                Err(e) if stale(&e, fresh) => {
                    self.reset();
                    let (mut conn, _) = self.shared().await?;
                    Ok(pipe.query_async(&mut conn).await?)
                }
                outcome => Ok(outcome?),
            }
        })
        .await
    }

    /// A connection of its own, for a `WATCH` transaction (not bounded here: the caller
    /// bounds the whole transaction).
    pub(crate) async fn dedicated(
        &self,
    ) -> Result<Counted<'_, deadpool_redis::Connection>, Failure> {
        let conn = self.pool.get().await?;
        Ok(Counted::owned(conn, &self.round_trips))
    }
}

/// Whether `e` says a connection opened earlier has died meanwhile (Redis restarted, the
/// connection was killed): then the request is retried once on a new connection, which fails
/// at once if Redis is really gone. (Should the dead connection have carried the request
/// before dying, the retry runs it twice: every request here is idempotent in its effect.)
fn stale(e: &redis::RedisError, fresh: bool) -> bool {
    !fresh && e.is_connection_dropped()
}

/// A connection that counts the requests sent through it.
pub(crate) struct Counted<'a, C> {
    conn: Holder<'a, C>,
    trips: &'a AtomicU64,
}

enum Holder<'a, C> {
    Owned(C),
    Borrowed(&'a mut C),
}

impl<'a, C> Counted<'a, C> {
    fn new(conn: &'a mut C, trips: &'a AtomicU64) -> Self {
        Self {
            conn: Holder::Borrowed(conn),
            trips,
        }
    }

    fn owned(conn: C, trips: &'a AtomicU64) -> Self {
        Self {
            conn: Holder::Owned(conn),
            trips,
        }
    }

    fn inner(&mut self) -> &mut C {
        match &mut self.conn {
            Holder::Owned(conn) => conn,
            Holder::Borrowed(conn) => conn,
        }
    }
}

impl<C: ConnectionLike + Send> ConnectionLike for Counted<'_, C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, redis::Value> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner().req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        self.trips.fetch_add(1, Ordering::Relaxed);
        self.inner().req_packed_commands(cmd, offset, count)
    }

    fn get_db(&self) -> i64 {
        match &self.conn {
            Holder::Owned(conn) => conn.get_db(),
            Holder::Borrowed(conn) => conn.get_db(),
        }
    }
}
