//! The box's requests, one Redis round trip each: `serverinfos` (a pipeline), `mystatus`,
//! `myactions` and `done` (one script each). No outage logic here: see [`crate::outage`].

use deadpool_redis::redis;
use essensys_core::{
    ports::{Change, Contact, Timestamp, HISTORY_LEN},
    ClientId, Guid, Index, Param, Value,
};

use crate::{
    conn::Redis,
    error::Failure,
    keys::{self, BoxKeys},
    scripts,
};

/// How many queued actions `deliver` returns beyond the delivered ones, for the local cache.
pub(crate) const CACHE_LIMIT: usize = 64;

fn ip(contact: &Contact) -> String {
    contact.address.map(|a| a.to_string()).unwrap_or_default()
}

/// `serverinfos`: the box is alive (connected, authinfo, last poll, last polled client).
pub(crate) async fn record_poll(
    redis: &Redis,
    client: &ClientId,
    contact: &Contact,
) -> Result<(), Failure> {
    let keys = BoxKeys::new(client);
    let at = contact.at.to_string();
    let mut info = vec![("updated", at.clone())];
    if let Some(address) = contact.address {
        info.push(("ip", address.to_string()));
    }
    if let Some(auth) = &contact.authorization {
        info.push(("auth", auth.clone()));
    }
    let mut pipe = redis::pipe();
    pipe.set(keys.connected(), "true")
        .ignore()
        .hset_multiple(keys.authinfo(), &info)
        .ignore()
        .set(keys.last_poll(), &at)
        .ignore()
        .set(keys::LAST_POLLED_CLIENT, client.as_str())
        .ignore()
        .sadd(keys::CLIENTS, client.as_str())
        .ignore();
    redis
        .pipeline::<()>(&pipe)
        .await
        .map_err(|f| f.context(format_args!("record poll of {client}")))
}

/// `mystatus`: writes the cells whose value changed (with their history) and the contact;
/// returns the changes, in the order given. Each cell carries the time it was reported.
pub(crate) async fn apply(
    redis: &Redis,
    client: &ClientId,
    contact: &Contact,
    version: Option<&str>,
    cells: &[(Param, Timestamp)],
) -> Result<Vec<Change>, Failure> {
    let keys = BoxKeys::new(client);
    let mut call = scripts::APPLY_SCRIPT.prepare_invoke();
    call.key(keys.exchange())
        .key(keys.authinfo())
        .key(keys.connected())
        .key(keys::CLIENTS);
    for (p, _) in cells {
        call.key(keys.history(p.index));
    }
    call.arg(client.as_str())
        .arg(contact.at.to_string())
        .arg(ip(contact))
        .arg(contact.authorization.as_deref().unwrap_or(""))
        .arg(version.unwrap_or(""))
        .arg(HISTORY_LEN);
    for (p, at) in cells {
        call.arg(p.index.get()).arg(p.value.get()).arg(at.0);
    }
    let flat: Vec<String> = redis
        .script(&call)
        .await
        .map_err(|f| f.context(format_args!("apply report of {client}")))?;
    flat.chunks_exact(3)
        .map(|change| {
            let index: Index = change[0]
                .parse()
                .map_err(|e| Failure::failed(format!("apply report of {client}: {e}")))?;
            let old = match change[1].as_str() {
                "" => None,
                text => text.parse::<Value>().ok().or_else(|| {
                    tracing::warn!(%client, %index, old = text, "stored value was not a byte: taken as never reported");
                    None
                }),
            };
            let new = change[2]
                .parse()
                .map_err(|e| Failure::failed(format!("apply report of {client}: {e}")))?;
            Ok(Change { index, old, new })
        })
        .collect()
}

/// What the `deliver` script returned.
pub(crate) struct Delivery {
    /// Elements waiting in the legacy global list.
    pub(crate) legacy_waiting: u64,
    /// How many of `items` were delivered (the first ones).
    pub(crate) picked: usize,
    /// The queue's length.
    pub(crate) queued: usize,
    /// The delivered elements, then more of the queue (up to [`CACHE_LIMIT`]).
    pub(crate) items: Vec<Vec<u8>>,
}

/// `myactions`: the longest prefix of the queue that fits in `room` bytes, marked sent.
pub(crate) async fn deliver(
    redis: &Redis,
    client: &ClientId,
    room: usize,
) -> Result<Delivery, Failure> {
    let keys = BoxKeys::new(client);
    let mut call = scripts::DELIVER_SCRIPT.prepare_invoke();
    call.key(keys.actions())
        .key(keys.sent())
        .key(keys::GLOBAL_ACTIONS)
        .key(keys.connected())
        .arg(room.min(u32::MAX as usize))
        .arg(CACHE_LIMIT);
    let context = |f: Failure| f.context(format_args!("deliver to {client}"));
    let reply: Vec<redis::Value> = redis.script(&call).await.map_err(context)?;
    let malformed = || context(Failure::failed("unexpected reply from the deliver script"));
    let number = |v: Option<&redis::Value>| -> Result<u64, Failure> {
        v.and_then(|v| redis::from_redis_value::<u64>(v).ok())
            .ok_or_else(malformed)
    };
    let legacy_waiting = number(reply.first())?;
    let picked = usize::try_from(number(reply.get(1))?).map_err(|_| malformed())?;
    let queued = usize::try_from(number(reply.get(2))?).map_err(|_| malformed())?;
    let items = reply
        .iter()
        .skip(3)
        .map(|v| redis::from_redis_value::<Vec<u8>>(v).map_err(|_| malformed()))
        .collect::<Result<Vec<_>, _>>()?;
    if items.len() < picked {
        return Err(malformed());
    }
    Ok(Delivery {
        legacy_waiting,
        picked,
        queued,
        items,
    })
}

/// `done`: removes the action `guid`; whether it was queued.
pub(crate) async fn ack(redis: &Redis, client: &ClientId, guid: &Guid) -> Result<bool, Failure> {
    let keys = BoxKeys::new(client);
    let mut call = scripts::ACK_SCRIPT.prepare_invoke();
    call.key(keys.actions())
        .key(keys.sent())
        .key(keys.connected())
        .arg(guid.as_str());
    let found: u8 = redis
        .script(&call)
        .await
        .map_err(|f| f.context(format_args!("ack {guid} from {client}")))?;
    Ok(found == 1)
}

/// After an outage: marks sent the actions delivered from the cache that are still queued.
pub(crate) async fn mark_sent(
    redis: &Redis,
    client: &ClientId,
    guids: impl IntoIterator<Item = &Guid>,
) -> Result<u64, Failure> {
    let keys = BoxKeys::new(client);
    let mut call = scripts::MARK_SENT_SCRIPT.prepare_invoke();
    call.key(keys.actions()).key(keys.sent());
    for guid in guids {
        call.arg(guid.as_str());
    }
    redis
        .script(&call)
        .await
        .map_err(|f| f.context(format_args!("mark delivered actions of {client}")))
}

/// Moves stored elements that are not actions out of `client`'s queue, to
/// `…:actions:rejected` (only when one is met: never on a healthy queue).
pub(crate) async fn quarantine(
    redis: &Redis,
    client: &ClientId,
    items: &[Vec<u8>],
) -> Result<(), Failure> {
    let keys = BoxKeys::new(client);
    let mut pipe = redis::pipe();
    pipe.atomic();
    for item in items {
        pipe.lrem(keys.actions(), 1, item.as_slice())
            .ignore()
            .rpush(keys.rejected(), item.as_slice())
            .ignore();
    }
    redis
        .pipeline::<()>(&pipe)
        .await
        .map_err(|f| f.context(format_args!("move invalid actions of {client} aside")))
}
