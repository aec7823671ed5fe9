//! [`ActionQueue`] on Redis: one FIFO per box, the stored form being each action's wire JSON,
//! and at most one pending alarm order per box, stored as its `_de67f` object.
//!
//! A stored alarm order that [`wire::decode_alarm`] does not accept (written by another tool)
//! is logged and moved to `essensys:client:{id}:alarm:rejected`, unless it was replaced
//! meanwhile; the `myactions` that met it was packed with the room its length left (fewer
//! actions, never too many), the next one is normal.

use async_trait::async_trait;
use deadpool_redis::redis;
use essensys_core::{
    merge::{self, Enqueued, Queued},
    ports::{Acked, ActionQueue, Delivery, PortError},
    reply::AlarmOrder,
    ClientId, Command, Guid,
};

use crate::{
    error::Failure,
    keys::{self, BoxKeys},
    legacy,
    requests::{self, Removed},
    state::RedisState,
    transaction, wire,
};

const PUSH_REFUSED: &str = "redis unreachable: order not queued, retry later";
const READ_REFUSED: &str = "redis unreachable: the queue cannot be read until it is back";

impl RedisState {
    /// A stored alarm order decoded, or `None` — logged and moved aside — when it is not one.
    async fn stored_alarm(&self, client: &ClientId, stored: Option<Vec<u8>>) -> Option<AlarmOrder> {
        let stored = stored?;
        let decoded = std::str::from_utf8(&stored)
            .map_err(|e| e.to_string())
            .and_then(wire::decode_alarm);
        match decoded {
            Ok(alarm) => Some(alarm),
            Err(reason) => {
                tracing::warn!(
                    %client, %reason, element = %String::from_utf8_lossy(&stored),
                    "stored alarm order is not one: ignored and moved to {}",
                    BoxKeys::new(client).alarm_rejected()
                );
                if let Err(failure) =
                    requests::alarm_aside(&self.shared.redis, client, &stored).await
                {
                    tracing::warn!(%client, reason = %failure, "could not move the invalid alarm order aside");
                }
                None
            }
        }
    }

    /// Deliver while Redis is up: the script, the legacy migration when the `default` box finds
    /// the old global list non-empty, then decoding (and the cache refresh).
    async fn deliver_up(&self, client: &ClientId, room: usize) -> Result<Delivery, Failure> {
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
        let alarm = self.stored_alarm(client, delivery.alarm).await;
        Ok(Delivery {
            alarm,
            actions: delivered,
        })
    }

    /// Ack while Redis is up: the script, then what it removed, decoded.
    async fn ack_up(&self, client: &ClientId, guid: &Guid) -> Result<Acked, Failure> {
        let removed = requests::ack(&self.shared.redis, client, guid).await?;
        self.shared.outage.forget(client, guid);
        Ok(match removed {
            Removed::Alarm => Acked::Alarm,
            Removed::Nothing => Acked::Unknown,
            Removed::Action(item) => {
                let decoded = std::str::from_utf8(&item)
                    .map_err(|e| e.to_string())
                    .and_then(wire::decode_action);
                match decoded {
                    Ok(action) => Acked::Action(action),
                    Err(reason) => {
                        tracing::warn!(
                            %client, %guid, %reason, element = %String::from_utf8_lossy(&item),
                            "acked element was not an action (never delivered): removed, taken as unknown"
                        );
                        Acked::Unknown
                    }
                }
            }
        })
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

    /// One pipeline (`GET`); refused while Redis is down, like [`ActionQueue::pending`].
    async fn pending_alarm(&self, client: &ClientId) -> Result<Option<AlarmOrder>, PortError> {
        let shared = &self.shared;
        shared.ensure_up(READ_REFUSED).await?;
        let stored = requests::get_alarm(&shared.redis, client)
            .await
            .map_err(|failure| {
                if failure.is_unreachable() {
                    shared.went_down(&failure);
                }
                failure.into_port()
            })?;
        Ok(self.stored_alarm(client, stored).await)
    }

    /// One script (one round trip): the pending alarm order and the longest prefix of the
    /// queue that fits in `room` — cut by
    /// [`room_with_alarm`](essensys_core::reply::room_with_alarm)'s rule on the stored alarm
    /// order's length when there is one — by
    /// [`fitting_count`](essensys_core::reply::fitting_count)'s rule on the stored strings,
    /// marked sent. While Redis is down: the same rule on the local cache, and no alarm order
    /// (it waits in Redis).
    async fn deliver(&self, client: &ClientId, room: usize) -> Result<Delivery, PortError> {
        let shared = &self.shared;
        let from_cache = |room| Delivery {
            alarm: None,
            actions: shared.outage.deliver(client, room),
        };
        if shared.outage.is_down() {
            return Ok(from_cache(room));
        }
        match self.deliver_up(client, room).await {
            Ok(delivery) => Ok(delivery),
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                Ok(from_cache(room))
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    /// One script (one round trip), idempotent: the alarm order if it has this guid, else the
    /// action. While Redis is down: a cached action is dropped from the cache and given back,
    /// any other guid is [`Acked::Unknown`]; the ack is remembered and applied (to the alarm
    /// order too) when Redis is back.
    async fn ack(&self, client: &ClientId, guid: &Guid) -> Result<Acked, PortError> {
        let shared = &self.shared;
        if shared.outage.is_down() {
            return Ok(shared.outage.ack(client, guid));
        }
        match self.ack_up(client, guid).await {
            Ok(acked) => Ok(acked),
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                Ok(shared.outage.ack(client, guid))
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    /// One pipeline (`SET … GET`): stores the order's `_de67f` object, returns the replaced
    /// one's guid. Refused while Redis is down, like [`ActionQueue::push`]: an order is never
    /// accepted without being stored.
    async fn set_alarm(
        &self,
        client: &ClientId,
        alarm: AlarmOrder,
    ) -> Result<Option<Guid>, PortError> {
        let shared = &self.shared;
        shared.ensure_up(PUSH_REFUSED).await?;
        let stored = wire::encode_alarm(&alarm);
        match requests::set_alarm(&shared.redis, client, &stored).await {
            Ok(None) => Ok(None),
            Ok(Some(old)) => {
                let decoded = std::str::from_utf8(&old)
                    .map_err(|e| e.to_string())
                    .and_then(wire::decode_alarm);
                match decoded {
                    Ok(old) => Ok(Some(old.guid().clone())),
                    Err(reason) => {
                        tracing::warn!(
                            %client, %reason, element = %String::from_utf8_lossy(&old),
                            "the replaced alarm order was not one"
                        );
                        Ok(None)
                    }
                }
            }
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                Err(PortError::Unavailable(PUSH_REFUSED.to_string()))
            }
            Err(failure) => Err(failure.into_port()),
        }
    }
}
