//! [`ActionQueue`] on Redis: one FIFO per box, the stored form being each action's wire JSON.

use async_trait::async_trait;
use deadpool_redis::redis;
use essensys_core::{
    merge::{self, Enqueued, Queued},
    ports::{ActionQueue, PortError},
    Action, ClientId, Command, Guid,
};

use crate::{
    error::Failure,
    keys::{self, BoxKeys},
    legacy, requests,
    state::RedisState,
    transaction, wire,
};

const PUSH_REFUSED: &str = "redis unreachable: order not queued, retry later";
const READ_REFUSED: &str = "redis unreachable: the queue cannot be read until it is back";

impl RedisState {
    /// Deliver while Redis is up: the script, the legacy migration when the `default` box finds
    /// the old global list non-empty, then decoding (and the cache refresh).
    async fn deliver_up(&self, client: &ClientId, room: usize) -> Result<Vec<Action>, Failure> {
        let redis = &self.shared.redis;
        let mut delivery = requests::deliver(redis, client, room).await?;
        if delivery.legacy_waiting > 0 && client.as_str() == ClientId::DEFAULT_NAME {
            match legacy::migrate(redis).await {
                Ok(_) => delivery = requests::deliver(redis, client, room).await?,
                Err(failure) if failure.is_unreachable() => return Err(failure),
                Err(failure) => tracing::warn!(
                    reason = %failure,
                    "legacy actions in {} could not be migrated: will try again on the next poll",
                    keys::GLOBAL_ACTIONS
                ),
            }
        }
        let mut delivered = Vec::with_capacity(delivery.picked);
        let mut cached = Vec::with_capacity(delivery.items.len());
        let mut invalid = Vec::new();
        for (n, item) in delivery.items.into_iter().enumerate() {
            let decoded = std::str::from_utf8(&item)
                .map_err(|e| e.to_string())
                .and_then(wire::decode_action);
            match decoded {
                Ok(action) => {
                    if n < delivery.picked {
                        delivered.push(action.clone());
                    }
                    cached.push(action);
                }
                Err(reason) => {
                    tracing::warn!(
                        %client, %reason, element = %String::from_utf8_lossy(&item),
                        "queued element is not an action: moved to {}",
                        BoxKeys::new(client).rejected()
                    );
                    invalid.push(item);
                }
            }
        }
        if !invalid.is_empty() {
            if let Err(failure) = requests::quarantine(redis, client, &invalid).await {
                tracing::warn!(%client, reason = %failure, "could not move invalid actions aside");
            }
        }
        if delivery.queued > cached.len() + invalid.len() {
            tracing::debug!(%client, queued = delivery.queued, cached = cached.len(), "only the head of a long queue is cached");
        }
        self.shared.outage.refresh(client, cached);
        Ok(delivered)
    }
}

#[async_trait]
impl ActionQueue for RedisState {
    /// `WATCH` + read, [`merge::enqueue`] for each command, `MULTI`/`EXEC` (retried on a
    /// conflict, at most 10 times). Refused while Redis is down: an
    /// order is never accepted without being stored.
    async fn push(
        &self,
        client: &ClientId,
        commands: Vec<(Command, Guid)>,
    ) -> Result<Vec<Enqueued>, PortError> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let shared = &self.shared;
        shared.ensure_up(PUSH_REFUSED).await?;
        let edit = |snapshot: transaction::Snapshot<'_>| {
            let enqueued: Vec<Enqueued> = commands
                .iter()
                .cloned()
                .map(|(command, guid)| merge::enqueue(snapshot.queue, command, guid))
                .collect();
            (enqueued, Vec::new())
        };
        match transaction::rewrite(&shared.redis, client, false, edit).await {
            Ok((enqueued, queue)) => {
                shared
                    .outage
                    .refresh(client, queue.into_iter().map(|q| q.action).collect());
                Ok(enqueued)
            }
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                Err(PortError::Unavailable(PUSH_REFUSED.to_string()))
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    async fn pending(&self, client: &ClientId) -> Result<Vec<Queued>, PortError> {
        let shared = &self.shared;
        shared.ensure_up(READ_REFUSED).await?;
        let keys = BoxKeys::new(client);
        let mut pipe = redis::pipe();
        pipe.lrange(keys.actions(), 0, -1).smembers(keys.sent());
        let read: Result<(Vec<Vec<u8>>, std::collections::HashSet<String>), Failure> =
            shared.redis.pipeline(&pipe).await;
        let (items, sent) = read.map_err(|failure| {
            if failure.is_unreachable() {
                shared.went_down(&failure);
            }
            failure
                .context(format_args!("read the queue of {client}"))
                .into_port()
        })?;
        let queue: Vec<Queued> = items
            .iter()
            .filter_map(|item| {
                let decoded = std::str::from_utf8(item)
                    .map_err(|e| e.to_string())
                    .and_then(wire::decode_action);
                match decoded {
                    Ok(action) => Some(Queued {
                        sent: sent.contains(action.guid.as_str()),
                        action,
                    }),
                    Err(reason) => {
                        tracing::warn!(%client, %reason, "queued element is not an action: skipped");
                        None
                    }
                }
            })
            .collect();
        shared
            .outage
            .refresh(client, queue.iter().map(|q| q.action.clone()).collect());
        Ok(queue)
    }

    /// One script (one round trip): the longest prefix of the queue that fits in `room` by
    /// [`fitting_count`](essensys_core::reply::fitting_count)'s rule on the stored strings,
    /// marked sent. While Redis is down: the same rule on the local cache.
    async fn deliver(&self, client: &ClientId, room: usize) -> Result<Vec<Action>, PortError> {
        let shared = &self.shared;
        if shared.outage.is_down() {
            return Ok(shared.outage.deliver(client, room));
        }
        match self.deliver_up(client, room).await {
            Ok(actions) => Ok(actions),
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                Ok(shared.outage.deliver(client, room))
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    /// One script (one round trip), idempotent. While Redis is down: dropped from the cache
    /// and remembered, applied when Redis is back.
    async fn ack(&self, client: &ClientId, guid: &Guid) -> Result<bool, PortError> {
        let shared = &self.shared;
        if shared.outage.is_down() {
            return Ok(shared.outage.ack(client, guid));
        }
        match requests::ack(&shared.redis, client, guid).await {
            Ok(found) => {
                shared.outage.forget(client, guid);
                Ok(found)
            }
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                Ok(shared.outage.ack(client, guid))
            }
            Err(failure) => Err(failure.into_port()),
        }
    }
}
