//! [`ExchangeStore`] on Redis: each box's table, history, contact and acknowledged device
//! states, in the shared schema.

use async_trait::async_trait;
use deadpool_redis::redis;
use essensys_core::{
    catalog::{self, Device},
    matricule::Pin,
    ports::{
        Change, ClientInfo, Contact, ExchangeStore, PortError, Sample, Timestamp, HISTORY_LEN,
    },
    state::{Acknowledged, DeviceUpdate},
    ClientId, Index, Param, Value,
};

use crate::{
    error::Failure,
    keys::{self, BoxKeys},
    requests,
    state::RedisState,
    wire,
};

const READ_REFUSED: &str = "redis unreachable: state cannot be read until it is back";

impl RedisState {
    /// A read: refused while down, marks down on a connectivity failure.
    async fn read<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, PortError> {
        self.shared.ensure_up(READ_REFUSED).await?;
        op.await.map_err(|failure| {
            if failure.is_unreachable() {
                self.shared.went_down(&failure);
            }
            failure.into_port()
        })
    }
}

#[async_trait]
impl ExchangeStore for RedisState {
    /// One pipeline (one round trip); buffered while Redis is down.
    async fn record_poll(&self, client: &ClientId, contact: &Contact) -> Result<(), PortError> {
        let shared = &self.shared;
        if shared.outage.is_down() {
            shared.outage.buffer_poll(client, contact);
            return Ok(());
        }
        match requests::record_poll(&shared.redis, client, contact).await {
            Ok(()) => Ok(()),
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                shared.outage.buffer_poll(client, contact);
                Ok(())
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    /// One script (one round trip). While Redis is down the latest value of each cell is
    /// buffered and no change is reported (the changes are written, not published, when Redis
    /// is back).
    async fn apply_report(
        &self,
        client: &ClientId,
        contact: &Contact,
        version: Option<&str>,
        params: &[Param],
    ) -> Result<Vec<Change>, PortError> {
        let shared = &self.shared;
        if shared.outage.is_down() {
            shared
                .outage
                .buffer_report(client, contact, version, params);
            return Ok(Vec::new());
        }
        let cells: Vec<_> = params.iter().map(|&p| (p, contact.at)).collect();
        match requests::apply(&shared.redis, client, contact, version, &cells).await {
            Ok(changes) => Ok(changes),
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                shared
                    .outage
                    .buffer_report(client, contact, version, params);
                Ok(Vec::new())
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    async fn values(
        &self,
        client: &ClientId,
        indices: &[Index],
    ) -> Result<Vec<Option<Value>>, PortError> {
        if indices.is_empty() {
            return Ok(Vec::new());
        }
        let keys = BoxKeys::new(client);
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(keys.exchange())
            .arg(indices.iter().map(|i| i.get()).collect::<Vec<_>>());
        let op = async {
            let (raw,): (Vec<Option<String>>,) = self.shared.redis.pipeline(&pipe).await?;
            Ok(indices
                .iter()
                .zip(raw)
                .map(|(index, text)| decode_value(client, *index, text.as_deref()))
                .collect())
        };
        self.read(op).await
    }

    async fn table(&self, client: &ClientId) -> Result<Vec<Param>, PortError> {
        let keys = BoxKeys::new(client);
        let mut pipe = redis::pipe();
        pipe.hgetall(keys.exchange());
        let op = async {
            let (raw,): (Vec<(String, String)>,) = self.shared.redis.pipeline(&pipe).await?;
            let mut table: Vec<Param> = raw
                .into_iter()
                .filter_map(|(field, text)| {
                    let Ok(index) = field.parse::<Index>() else {
                        tracing::warn!(%client, field, "exchange field is not a cell index: skipped");
                        return None;
                    };
                    decode_value(client, index, Some(&text)).map(|v| Param::new(index, v))
                })
                .collect();
            table.sort_by_key(|p| p.index);
            Ok(table)
        };
        self.read(op).await
    }

    async fn history(&self, client: &ClientId, index: Index) -> Result<Vec<Sample>, PortError> {
        let keys = BoxKeys::new(client);
        let mut pipe = redis::pipe();
        pipe.lrange(keys.history(index), 0, HISTORY_LEN as isize - 1);
        let op = async {
            let (raw,): (Vec<String>,) = self.shared.redis.pipeline(&pipe).await?;
            // stored newest first
            Ok(raw
                .iter()
                .rev()
                .filter_map(|text| {
                    let sample = wire::decode_sample(text);
                    if sample.is_none() {
                        tracing::warn!(%client, %index, sample = text, "history entry is not millis:value: skipped");
                    }
                    sample
                })
                .collect())
        };
        self.read(op).await
    }

    /// Every id in `essensys:clients`, by id, with its `authinfo` and `last_poll`.
    async fn clients(&self) -> Result<Vec<ClientInfo>, PortError> {
        let redis = &self.shared.redis;
        let op = async {
            let mut pipe = redis::pipe();
            pipe.smembers(keys::CLIENTS);
            let (members,): (Vec<String>,) = redis.pipeline(&pipe).await?;
            let mut ids: Vec<ClientId> = members
                .iter()
                .filter_map(|m| {
                    ClientId::new(m)
                        .inspect_err(|e| tracing::warn!(reason = %e, "{} holds an invalid client id: skipped", keys::CLIENTS))
                        .ok()
                })
                .collect();
            ids.sort();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut pipe = redis::pipe();
            for id in &ids {
                let keys = BoxKeys::new(id);
                pipe.cmd("HMGET")
                    .arg(keys.authinfo())
                    .arg(&["ip", "version", "updated"])
                    .get(keys.last_poll());
            }
            let raw: Vec<redis::Value> = redis.pipeline(&pipe).await?;
            let malformed = || Failure::failed("unexpected reply when listing clients");
            ids.into_iter()
                .zip(raw.chunks_exact(2))
                .map(|(id, pair)| {
                    let info: Vec<Option<String>> =
                        redis::from_redis_value(&pair[0]).map_err(|_| malformed())?;
                    let last_poll: Option<String> =
                        redis::from_redis_value(&pair[1]).map_err(|_| malformed())?;
                    let field = |n: usize| info.get(n).cloned().flatten();
                    let seen = [field(2), last_poll]
                        .iter()
                        .flatten()
                        .filter_map(|t| wire::parse_rfc3339(t))
                        .max()
                        .unwrap_or_default();
                    Ok(ClientInfo {
                        address: field(0).and_then(|ip| ip.parse().ok()),
                        version: field(1),
                        last_seen: seen,
                        id,
                    })
                })
                .collect()
        };
        self.read(op).await
    }

    /// One pipeline (one `HSET`, one round trip), the latest write winning per device. While
    /// Redis is down the latest state of each device is buffered and written when it is back.
    async fn record_devices(
        &self,
        client: &ClientId,
        updates: &[DeviceUpdate],
        at: Timestamp,
    ) -> Result<(), PortError> {
        if updates.is_empty() {
            return Ok(());
        }
        let shared = &self.shared;
        if shared.outage.is_down() {
            shared.outage.buffer_devices(client, updates, at);
            return Ok(());
        }
        let states: Vec<(String, Acknowledged)> = updates
            .iter()
            .map(|u| {
                let acknowledged = Acknowledged { state: u.state, at };
                (u.device.key(), acknowledged)
            })
            .collect();
        match requests::record_devices(&shared.redis, client, &states).await {
            Ok(()) => Ok(()),
            Err(failure) if failure.is_unreachable() => {
                shared.went_down(&failure);
                shared.outage.buffer_devices(client, updates, at);
                Ok(())
            }
            Err(failure) => Err(failure.into_port()),
        }
    }

    /// One `HGETALL`; fields that are not a catalog device with a state are skipped (with a
    /// warning). Refused while Redis is down, like every read.
    async fn devices(
        &self,
        client: &ClientId,
    ) -> Result<Vec<(&'static Device, Acknowledged)>, PortError> {
        self.read(self.devices_up(client)).await
    }

    /// `SET pin NX` then `GET pin`, in one pipeline (one round trip). Not buffered during an
    /// outage: the gateway lets the box through and checks again later.
    async fn pin(&self, client: &ClientId, pin: &Pin) -> Result<bool, PortError> {
        let key = BoxKeys::new(client).pin();
        let hex = pin.to_hex();
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&key)
            .arg(&hex)
            .arg("NX")
            .ignore()
            .get(&key);
        let op = async {
            let (stored,): (Option<String>,) = self.shared.redis.pipeline(&pipe).await?;
            Ok(stored.as_deref().and_then(Pin::from_hex) == Some(*pin))
        };
        self.read(op).await
    }

    /// Every key of the box (its histories named from its table's fields) and its entry in
    /// `essensys:clients`, in one transaction.
    async fn forget_box(&self, client: &ClientId) -> Result<(), PortError> {
        let keys = BoxKeys::new(client);
        let op = async {
            let mut fields = redis::pipe();
            fields.hkeys(keys.exchange());
            let (indices,): (Vec<String>,) = self.shared.redis.pipeline(&fields).await?;
            let mut pipe = redis::pipe();
            pipe.atomic();
            for index in indices
                .iter()
                .filter_map(|f| f.parse::<u16>().ok())
                .filter_map(|i| Index::new(i).ok())
            {
                pipe.del(keys.history(index)).ignore();
            }
            pipe.del(keys.exchange())
                .ignore()
                .del(keys.authinfo())
                .ignore()
                .del(keys.connected())
                .ignore()
                .del(keys.last_poll())
                .ignore()
                .del(keys.devices())
                .ignore()
                .del(keys.pin())
                .ignore()
                .srem(keys::CLIENTS, client.as_str())
                .ignore();
            self.shared.redis.pipeline::<()>(&pipe).await?;
            Ok(())
        };
        self.read(op).await
    }

    async fn forget_pin(&self, client: &ClientId) -> Result<(), PortError> {
        let mut pipe = redis::pipe();
        pipe.del(BoxKeys::new(client).pin()).ignore();
        let op = async {
            self.shared.redis.pipeline::<()>(&pipe).await?;
            Ok(())
        };
        self.read(op).await
    }
}

impl RedisState {
    /// `devices` while up: the hash, read back through [`catalog::device_by_key`] and
    /// [`keys::parse_device_value`], in catalog order.
    async fn devices_up(
        &self,
        client: &ClientId,
    ) -> Result<Vec<(&'static Device, Acknowledged)>, Failure> {
        let mut pipe = redis::pipe();
        pipe.hgetall(BoxKeys::new(client).devices());
        let (raw,): (Vec<(String, String)>,) = self.shared.redis.pipeline(&pipe).await?;
        let mut known: Vec<(usize, &'static Device, Acknowledged)> = raw
            .into_iter()
            .filter_map(|(field, text)| {
                let device = catalog::device_by_key(&field);
                let position = device.and_then(catalog::position);
                let acknowledged = keys::parse_device_value(&text);
                match (device, position, acknowledged) {
                    (Some(device), Some(position), Some(acknowledged)) => {
                        Some((position, device, acknowledged))
                    }
                    _ => {
                        tracing::warn!(%client, field, value = text, "device state is not a catalog device with {{on|off|unknown}}:millis: skipped");
                        None
                    }
                }
            })
            .collect();
        known.sort_by_key(|(position, ..)| *position);
        Ok(known.into_iter().map(|(_, d, a)| (d, a)).collect())
    }
}

/// A stored value, or `None` (with a warning) when another tool stored something else.
fn decode_value(client: &ClientId, index: Index, text: Option<&str>) -> Option<Value> {
    let text = text?;
    let value = text.parse().ok();
    if value.is_none() {
        tracing::warn!(%client, %index, value = text, "stored value is not a byte: taken as never reported");
    }
    value
}
