//! The box's requests, one Redis round trip each: `serverinfos` (a pipeline), `mystatus`,
//! `myactions` and `done` (one script each), and the device states a `done` settles (a
//! pipeline, the gateway's second port call on such a `done`). No outage logic here: see
//! [`crate::outage`].

use deadpool_redis::redis;
use essensys_core::{
    ports::{Change, Contact, Timestamp, HISTORY_LEN},
    state::Acknowledged,
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
    /// The stored alarm order, if one is pending (the room was cut by its length).
    pub(crate) alarm: Option<Vec<u8>>,
    /// The delivered elements, then more of the queue (up to [`CACHE_LIMIT`]).
    pub(crate) items: Vec<Vec<u8>>,
}

/// `myactions`: the pending alarm order and the longest prefix of the queue that fits in `room`
/// bytes (less the alarm order's, see [`crate::scripts`]), marked sent.
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
        .key(keys.alarm())
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
    let alarm = match reply.get(3) {
        Some(redis::Value::Nil) => None,
        Some(v) => Some(redis::from_redis_value::<Vec<u8>>(v).map_err(|_| malformed())?),
        None => return Err(malformed()),
    };
    let items = reply
        .iter()
        .skip(4)
        .map(|v| redis::from_redis_value::<Vec<u8>>(v).map_err(|_| malformed()))
        .collect::<Result<Vec<_>, _>>()?;
    if items.len() < picked {
        return Err(malformed());
    }
    Ok(Delivery {
        legacy_waiting,
        picked,
        queued,
        alarm,
        items,
    })
}

/// What the `ack` script removed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The pending alarm order.
    Alarm,
    /// This stored action element.
    Action(Vec<u8>),
    /// Nothing had that guid.
    Nothing,
}

/// `done`: removes the alarm order or the action `guid`; what it was.
pub(crate) async fn ack(redis: &Redis, client: &ClientId, guid: &Guid) -> Result<Removed, Failure> {
    let keys = BoxKeys::new(client);
    let mut call = scripts::ACK_SCRIPT.prepare_invoke();
    call.key(keys.actions())
        .key(keys.sent())
        .key(keys.connected())
        .key(keys.alarm())
        .arg(guid.as_str());
    let context = |f: Failure| f.context(format_args!("ack {guid} from {client}"));
    let reply: Vec<Vec<u8>> = redis.script(&call).await.map_err(context)?;
    match reply.as_slice() {
        [tag] if tag.as_slice() == b"alarm" => Ok(Removed::Alarm),
        [tag, item] if tag.as_slice() == b"action" => Ok(Removed::Action(item.clone())),
        [tag] if tag.as_slice() == b"unknown" => Ok(Removed::Nothing),
        _ => Err(context(Failure::failed(
            "unexpected reply from the ack script",
        ))),
    }
}

/// Makes `stored` (an alarm order's wire form) the pending alarm order; returns the one it
/// replaced, as stored (`SET … GET`, Redis ≥ 6.2).
pub(crate) async fn set_alarm(
    redis: &Redis,
    client: &ClientId,
    stored: &str,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(BoxKeys::new(client).alarm())
        .arg(stored)
        .arg("GET");
    let (old,): (Option<Vec<u8>>,) = redis
        .pipeline(&pipe)
        .await
        .map_err(|f| f.context(format_args!("queue the alarm order of {client}")))?;
    Ok(old)
}

/// The pending alarm order of `client`, as stored.
pub(crate) async fn get_alarm(
    redis: &Redis,
    client: &ClientId,
) -> Result<Option<Vec<u8>>, Failure> {
    let mut pipe = redis::pipe();
    pipe.get(BoxKeys::new(client).alarm());
    let (stored,): (Option<Vec<u8>>,) = redis
        .pipeline(&pipe)
        .await
        .map_err(|f| f.context(format_args!("read the alarm order of {client}")))?;
    Ok(stored)
}

/// Moves a stored alarm order that is not in the wire form to `…:alarm:rejected`, unless it was
/// replaced meanwhile (only when one is met).
pub(crate) async fn alarm_aside(
    redis: &Redis,
    client: &ClientId,
    stored: &[u8],
) -> Result<(), Failure> {
    let keys = BoxKeys::new(client);
    let mut call = scripts::ALARM_ASIDE_SCRIPT.prepare_invoke();
    call.key(keys.alarm())
        .key(keys.alarm_rejected())
        .arg(stored);
    redis.script::<u8>(&call).await.map(|_| ()).map_err(|f| {
        f.context(format_args!(
            "move the invalid alarm order of {client} aside"
        ))
    })
}

/// Writes the acknowledged state of devices (by [`Device::key`]): one `HSET`.
///
/// [`Device::key`]: essensys_core::catalog::Device::key
pub(crate) async fn record_devices(
    redis: &Redis,
    client: &ClientId,
    states: &[(String, Acknowledged)],
) -> Result<(), Failure> {
    if states.is_empty() {
        return Ok(());
    }
    let fields: Vec<(&str, String)> = states
        .iter()
        .map(|(key, acknowledged)| (key.as_str(), keys::device_value(*acknowledged)))
        .collect();
    let mut pipe = redis::pipe();
    pipe.hset_multiple(BoxKeys::new(client).devices(), &fields)
        .ignore();
    redis
        .pipeline::<()>(&pipe)
        .await
        .map_err(|f| f.context(format_args!("record device states of {client}")))
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
