//! Rewriting one box's queue atomically: `WATCH` the list and its sent set, read them, let
//! core decide (through [`essensys_core::merge::enqueue`], by the caller), write everything
//! back in one `MULTI`/`EXEC`, and start over (after a short random pause) if anyone touched
//! the keys meanwhile.
//!
//! Used by `push` and by the legacy-list migration, never on a box request's fast path.

use std::{collections::HashSet, time::Duration};

use deadpool_redis::redis::{self, Cmd};
use essensys_core::{merge::Queued, ClientId};

use crate::{
    conn::Redis,
    error::Failure,
    keys::{self, BoxKeys},
    wire,
};

/// How many times a rewrite is tried when the keys keep changing under it.
pub(crate) const MAX_TRIES: usize = 10;

/// What a rewrite sees: the queue as core types, and the legacy list when asked for.
pub(crate) struct Snapshot<'a> {
    /// The queue, oldest first.
    pub(crate) queue: &'a mut Vec<Queued>,
    /// The legacy global list's elements (empty unless asked for).
    pub(crate) legacy: &'a [Vec<u8>],
}

/// Rewrites `client`'s queue with `edit`, atomically, retrying on a `WATCH` conflict. `edit`
/// changes the queue and returns its result plus extra commands for the same `MULTI`; it may
/// run several times (once per try). With `with_legacy`, the legacy global list is watched
/// and read too. Returns `edit`'s result and the queue as written.
pub(crate) async fn rewrite<T>(
    redis: &Redis,
    client: &ClientId,
    with_legacy: bool,
    mut edit: impl FnMut(Snapshot<'_>) -> (T, Vec<Cmd>),
) -> Result<(T, Vec<Queued>), Failure> {
    for tries in 0..MAX_TRIES {
        let attempt = try_once(redis, client, with_legacy, &mut edit);
        if let Some(done) = redis.bounded(attempt).await? {
            return Ok(done);
        }
        tracing::debug!(%client, "queue changed during the transaction: trying again");
        tokio::time::sleep(jitter(tries)).await;
    }
    Err(Failure::failed(format!(
        "the queue of {client} kept changing: gave up after {MAX_TRIES} tries"
    )))
}

/// A random pause before trying again (up to 1, 2, 4 … 32 ms), so that writers racing for the
/// same queue do not keep colliding.
fn jitter(tries: usize) -> Duration {
    let ceiling = 1u64 << tries.min(5);
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    Duration::from_micros(random % (ceiling * 1000 + 1))
}

type Reads = (Vec<Vec<u8>>, HashSet<String>, Vec<Vec<u8>>);

fn reads(replies: &[redis::Value]) -> redis::RedisResult<Reads> {
    let nil = redis::Value::Nil;
    Ok((
        redis::from_redis_value(replies.first().unwrap_or(&nil))?,
        redis::from_redis_value(replies.get(1).unwrap_or(&nil))?,
        match replies.get(2) {
            Some(legacy) => redis::from_redis_value(legacy)?,
            None => Vec::new(),
        },
    ))
}

async fn try_once<T>(
    redis: &Redis,
    client: &ClientId,
    with_legacy: bool,
    edit: &mut impl FnMut(Snapshot<'_>) -> (T, Vec<Cmd>),
) -> Result<Option<(T, Vec<Queued>)>, Failure> {
    let keys = BoxKeys::new(client);
    let context = |f: Failure| f.context(format_args!("update the queue of {client}"));
    let mut conn = redis.dedicated().await.map_err(context)?;

    let mut watch = redis::cmd("WATCH");
    watch.arg(keys.actions()).arg(keys.sent());
    if with_legacy {
        watch.arg(keys::GLOBAL_ACTIONS);
    }
    let mut read = redis::pipe();
    read.add_command(watch).ignore();
    read.lrange(keys.actions(), 0, -1).smembers(keys.sent());
    if with_legacy {
        read.lrange(keys::GLOBAL_ACTIONS, 0, -1);
    }
    let replies: Vec<redis::Value> = read
        .query_async(&mut conn)
        .await
        .map_err(|e| context(e.into()))?;
    let (items, sent, legacy) = reads(&replies).map_err(|e| context(e.into()))?;

    let mut queue = Vec::with_capacity(items.len());
    let mut invalid = Vec::new();
    for item in items {
        match std::str::from_utf8(&item)
            .map_err(|e| e.to_string())
            .and_then(wire::decode_action)
        {
            Ok(action) => {
                let was_sent = sent.contains(action.guid.as_str());
                queue.push(Queued {
                    action,
                    sent: was_sent,
                });
            }
            Err(reason) => {
                tracing::warn!(%client, %reason, element = %String::from_utf8_lossy(&item), "queued element is not an action: moved to {}", keys.rejected());
                invalid.push(item);
            }
        }
    }

    let (result, extra) = edit(Snapshot {
        queue: &mut queue,
        legacy: &legacy,
    });

    let mut write = redis::pipe();
    write.atomic();
    write.del(keys.actions()).ignore();
    if !queue.is_empty() {
        let encoded: Vec<String> = queue
            .iter()
            .map(|q| wire::encode_action(&q.action))
            .collect();
        write.rpush(keys.actions(), encoded).ignore();
    }
    write.del(keys.sent()).ignore();
    let sent_now: Vec<&str> = queue
        .iter()
        .filter(|q| q.sent)
        .map(|q| q.action.guid.as_str())
        .collect();
    if !sent_now.is_empty() {
        write.sadd(keys.sent(), sent_now).ignore();
    }
    for item in &invalid {
        write.rpush(keys.rejected(), item.as_slice()).ignore();
    }
    for cmd in extra {
        write.add_command(cmd).ignore();
    }
    let outcome: redis::Value = write
        .query_async(&mut conn)
        .await
        .map_err(|e| context(e.into()))?;
    if outcome == redis::Value::Nil {
        return Ok(None);
    }
    Ok(Some((result, queue)))
}
