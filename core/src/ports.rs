//! The ports: what the gateway needs from the outside world, as traits that adapters implement.
//!
//! | port | implemented by | job |
//! |---|---|---|
//! | [`ExchangeStore`] | memory, Redis | each box's table, history, contact info |
//! | [`ActionQueue`] | memory, Redis | each box's FIFO of actions, delivery, idempotent ack |
//! | [`EventSink`] | MQTT, metrics, logs | what changed, for whoever listens |
//! | [`Clock`], [`GuidSource`] | apps | time and ids, so core never reads a clock or a RNG |
//!
//! Storage ports are async (`async-trait`, used as `dyn`); the event sink and the sources are
//! plain calls that must not block: they sit on the box's hot path. The event sink and the
//! events live in [`crate::event`] (re-exported here).

use std::{fmt, net::IpAddr};

use async_trait::async_trait;
use thiserror::Error;

use crate::{
    action::{Action, Command, Guid},
    alarm::{AlarmError, LocalTime},
    catalog::Device,
    cell::{Index, Param, Value},
    client::ClientId,
    matricule::Pin,
    merge::{Enqueued, Queued},
    reply::AlarmOrder,
    state::{Acknowledged, DeviceUpdate},
};

pub use crate::event::{Acked, Event, EventKind, EventSink, NoEvents};

/// How many past values of each cell a store keeps per box.
pub const HISTORY_LEN: usize = 25;

/// A moment, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The UTC calendar date and time of day: `(year, month, day, hour, minute, second)`.
    pub fn civil(self) -> (i64, u8, u8, u8, u8, u8) {
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        // civil-from-days (Howard Hinnant), valid for every u64 day count we can meet
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month as u8, day as u8, h as u8, m as u8, s as u8)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with milliseconds: `2026-11-27T06:00:12.345Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0 % 1000;
        let (year, month, day, h, m, s) = self.civil();
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z"
        )
    }
}

/// Who was on the other end of a box request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// When the request came.
    pub at: Timestamp,
    /// The box's address, if known.
    pub address: Option<IpAddr>,
    /// The raw `Authorization` header value, if any (kept for compatible tools).
    pub authorization: Option<String>,
}

/// A cell whose reported value differs from what was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The cell.
    pub index: Index,
    /// Its previous value, `None` if never reported before.
    pub old: Option<Value>,
    /// Its new value.
    pub new: Value,
}

/// One past value of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// When the box reported it.
    pub at: Timestamp,
    /// The value.
    pub value: Value,
}

/// What a store knows of one box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// The box.
    pub id: ClientId,
    /// Its last known address.
    pub address: Option<IpAddr>,
    /// The firmware protocol version it last reported (`37`).
    pub version: Option<String>,
    /// Its last request.
    pub last_seen: Timestamp,
}

/// Why a port could not do its job.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PortError {
    /// The backend cannot be reached right now; retrying later may work.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with an error or with data it should not hold.
    #[error("state store error: {0}")]
    Failed(String),
}

/// Each box's copy of the exchange table, its history and its contact details.
#[async_trait]
pub trait ExchangeStore: Send + Sync + 'static {
    /// Records a `serverinfos` poll: the box is alive at `contact`.
    ///
    /// # Errors
    /// MUST return [`PortError::Unavailable`] when the backend cannot be reached and the poll is
    /// not kept for later (an adapter that buffers it until the backend is back returns `Ok`).
    async fn record_poll(&self, client: &ClientId, contact: &Contact) -> Result<(), PortError>;

    /// Stores the values a box reported and its contact; returns the cells whose value changed
    /// (or that were never seen), in the order reported. Each change is appended to the cell's
    /// history, which keeps the last [`HISTORY_LEN`] samples.
    ///
    /// # Errors
    /// MUST return [`PortError::Unavailable`] when the backend cannot be reached and the report
    /// is lost. An adapter that buffers it until the backend is back returns `Ok` (with no
    /// changes: they are computed when the report is written).
    async fn apply_report(
        &self,
        client: &ClientId,
        contact: &Contact,
        version: Option<&str>,
        params: &[Param],
    ) -> Result<Vec<Change>, PortError>;

    /// The last reported value of each of `indices`, `None` where never reported.
    async fn values(
        &self,
        client: &ClientId,
        indices: &[Index],
    ) -> Result<Vec<Option<Value>>, PortError>;

    /// Every cell ever reported by `client`, by index.
    async fn table(&self, client: &ClientId) -> Result<Vec<Param>, PortError>;

    /// The last [`HISTORY_LEN`] values of one cell, oldest first.
    async fn history(&self, client: &ClientId, index: Index) -> Result<Vec<Sample>, PortError>;

    /// Every box seen, by id.
    async fn clients(&self) -> Result<Vec<ClientInfo>, PortError>;

    /// Records the state the box acknowledged, at `at`, for each device of `updates` (the
    /// latest write wins per device; see [`crate::state`]).
    ///
    /// # Errors
    /// MUST return [`PortError::Unavailable`] when the backend cannot be reached and the states
    /// are not kept for later.
    async fn record_devices(
        &self,
        client: &ClientId,
        updates: &[DeviceUpdate],
        at: Timestamp,
    ) -> Result<(), PortError>;

    /// The acknowledged state of every device of `client` the box ever acknowledged a command
    /// for (the others are unknown), in catalog order.
    async fn devices(
        &self,
        client: &ClientId,
    ) -> Result<Vec<(&'static Device, Acknowledged)>, PortError>;

    /// Trust on first use: atomically pins `client` to `pin` if it has no pin yet, and says
    /// whether its pin is `pin`.
    async fn pin(&self, client: &ClientId, pin: &Pin) -> Result<bool, PortError>;

    /// Forgets `client`'s pin: the next matricule seen for it is trusted.
    async fn forget_pin(&self, client: &ClientId) -> Result<(), PortError>;

    /// Forgets everything kept of `client` (table, history, devices, contact, pin): it is no
    /// longer listed until it polls again. Its queue is the [`ActionQueue`]'s, not touched.
    async fn forget_box(&self, client: &ClientId) -> Result<(), PortError>;
}

/// Each box's FIFO of actions. Delivery does not remove; only an ack does.
#[async_trait]
pub trait ActionQueue: Send + Sync + 'static {
    /// Adds `commands` to `client`'s queue, in order, atomically (all or none). Each goes
    /// through [`crate::merge::enqueue`] with its guid.
    async fn push(
        &self,
        client: &ClientId,
        commands: Vec<(Command, Guid)>,
    ) -> Result<Vec<Enqueued>, PortError>;

    /// The queue of `client`, oldest first.
    async fn pending(&self, client: &ClientId) -> Result<Vec<Queued>, PortError>;

    /// The alarm order waiting for `client`'s acknowledgement, if any.
    async fn pending_alarm(&self, client: &ClientId) -> Result<Option<AlarmOrder>, PortError>;

    /// Atomically: takes the pending alarm order, if any, and the longest prefix of `client`'s
    /// queue that fits by [`crate::reply::fitting_count`] (each action counted at its
    /// [`crate::reply::action_len`]) in `room` bytes — or, when an alarm order goes with them,
    /// in [`crate::reply::room_with_alarm`]`(room, alarm's encoded length)`; marks them sent
    /// (so nothing is merged into them any more) and returns them. They stay queued until
    /// acked.
    async fn deliver(&self, client: &ClientId, room: usize) -> Result<Delivery, PortError>;

    /// Removes the action, or the pending alarm order, `guid` from `client`'s queue and says
    /// what it was. Acking an unknown or already-acked guid is not an error (the box may ack
    /// twice): it gives [`Acked::Unknown`].
    async fn ack(&self, client: &ClientId, guid: &Guid) -> Result<Acked, PortError>;

    /// Makes `alarm` the box's pending alarm order, replacing the one pending (sent or not:
    /// the box acts on the latest wish; an ack of the replaced guid is then unknown). Returns
    /// the replaced order's guid.
    ///
    /// # Errors
    /// MUST return [`PortError::Unavailable`] when the order cannot be stored now: it is then
    /// not queued.
    async fn set_alarm(
        &self,
        client: &ClientId,
        alarm: AlarmOrder,
    ) -> Result<Option<Guid>, PortError>;
}

/// What a box gets in one `myactions` reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The pending `_de67f` alarm order, if any.
    pub alarm: Option<AlarmOrder>,
    /// The actions, oldest first.
    pub actions: Vec<Action>,
}

/// The current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;

    /// The house's local wall-clock time now, for alarm orders. The default reads [`Clock::now`]
    /// as UTC; a clock that knows the local time zone says so.
    ///
    /// # Errors
    /// [`AlarmError::TimeOutOfRange`] outside 2000–2099.
    fn local_time(&self) -> Result<LocalTime, AlarmError> {
        let (year, month, day, hour, minute, second) = self.now().civil();
        let year = u16::try_from(year).unwrap_or(0);
        LocalTime::new(year, month, day, hour, minute, second)
    }
}

/// Fresh action ids.
pub trait GuidSource: Send + Sync + 'static {
    /// A guid never returned before.
    fn next_guid(&self) -> Guid;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_rfc3339() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp(1_795_759_212_345).to_string(),
            "2026-11-27T06:00:12.345Z"
        );
    }
}
