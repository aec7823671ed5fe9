//! `essensys-memory` — the gateway's state kept in this process: the embedded default of the
//! backend (no Redis needed) and the double used by tests.
//!
//! - [`MemoryStore`] implements [`ExchangeStore`]: each box's table, the last
//!   [`HISTORY_LEN`] values of each cell, contact details.
//! - [`MemoryQueue`] implements [`ActionQueue`]: one FIFO per box (never a queue shared by
//!   boxes), merging through [`essensys_core::merge::enqueue`].
//! - [`ManualClock`], [`CountingGuids`] and [`RecordedEvents`]: deterministic doubles for tests
//!   (the machine's clock and random guids are `essensys-system`'s); [`block_on`] runs the use
//!   cases on these ports without an async runtime (they never wait).
//!
//! Everything here is lost when the process stops; it must never be the only copy of an order
//! that matters across restarts (that is the Redis adapter's job).
//!
//! Locks are std mutexes held only for in-memory work, never across an `.await`.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, MutexGuard,
    },
};

use async_trait::async_trait;
use essensys_core::{
    catalog::{self, Device},
    matricule::Pin,
    merge::{self, Enqueued, Queued},
    ports::{
        Acked, ActionQueue, Change, ClientInfo, Clock, Contact, Delivery, Event, EventSink,
        ExchangeStore, GuidSource, PortError, Sample, Timestamp, HISTORY_LEN,
    },
    reply::{self, AlarmOrder},
    state::{Acknowledged, DeviceUpdate},
    ClientId, Command, Guid, Index, Param, Value,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated in a way that matters
    // more than stopping the house: keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A box's last values, compact: one byte per cell and one bit saying whether it was reported.
struct Cells {
    values: Box<[u8; 953]>,
    reported: [u64; 15],
}

impl Cells {
    fn new() -> Self {
        Self {
            values: Box::new([0; 953]),
            reported: [0; 15],
        }
    }

    fn get(&self, index: Index) -> Option<Value> {
        let i = usize::from(index.get());
        (self.reported[i / 64] & (1 << (i % 64)) != 0).then(|| Value(self.values[i]))
    }

    fn set(&mut self, index: Index, value: Value) {
        let i = usize::from(index.get());
        self.reported[i / 64] |= 1 << (i % 64);
        self.values[i] = value.get();
    }
}

/// The recent values of every changed cell, oldest first, in one vector of 8-byte samples:
/// the cell index in the top 10 bits, the value in the next 8, the time in milliseconds in the
/// low 46 (until the year 2200). One allocation per box instead of one per cell.
#[derive(Default)]
struct History(Vec<u64>);

/// The low 46 bits: milliseconds.
const MILLIS: u64 = (1 << 46) - 1;

impl History {
    fn push(&mut self, index: Index, sample: Sample) {
        let cell = u64::from(index.get());
        let of_cell = |packed: &u64| packed >> 54 == cell;
        if self.0.iter().filter(|p| of_cell(p)).count() >= HISTORY_LEN {
            if let Some(oldest) = self.0.iter().position(of_cell) {
                self.0.remove(oldest);
            }
        }
        self.0
            .push(cell << 54 | u64::from(sample.value.get()) << 46 | (sample.at.0 & MILLIS));
    }

    fn get(&self, index: Index) -> Vec<Sample> {
        let cell = u64::from(index.get());
        self.0
            .iter()
            .filter(|&&packed| packed >> 54 == cell)
            .map(|&packed| Sample {
                at: Timestamp(packed & MILLIS),
                value: Value((packed >> 46) as u8),
            })
            .collect()
    }
}

/// One box's state.
struct BoxState {
    /// The last value of each cell.
    values: Cells,
    /// The last values of each changed cell, oldest first.
    history: History,
    /// The acknowledged state of devices, by position in the catalog.
    devices: BTreeMap<usize, Acknowledged>,
    info: ClientInfo,
}

impl BoxState {
    fn new(id: &ClientId, contact: &Contact) -> Self {
        Self {
            values: Cells::new(),
            history: History::default(),
            devices: BTreeMap::new(),
            info: ClientInfo {
                id: id.clone(),
                address: contact.address,
                version: None,
                last_seen: contact.at,
            },
        }
    }

    fn touch(&mut self, contact: &Contact) {
        self.info.last_seen = contact.at;
        if contact.address.is_some() {
            self.info.address = contact.address;
        }
    }
}

/// Tables, history and contacts of every box, in memory.
#[derive(Default)]
pub struct MemoryStore {
    boxes: Mutex<BTreeMap<ClientId, BoxState>>,
    pins: Mutex<HashMap<ClientId, Pin>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_box<T>(
        &self,
        client: &ClientId,
        contact: &Contact,
        f: impl FnOnce(&mut BoxState) -> T,
    ) -> T {
        let mut boxes = lock(&self.boxes);
        let state = boxes
            .entry(client.clone())
            .or_insert_with(|| BoxState::new(client, contact));
        state.touch(contact);
        f(state)
    }
}

#[async_trait]
impl ExchangeStore for MemoryStore {
    async fn record_poll(&self, client: &ClientId, contact: &Contact) -> Result<(), PortError> {
        self.with_box(client, contact, |_| ());
        Ok(())
    }

    async fn apply_report(
        &self,
        client: &ClientId,
        contact: &Contact,
        version: Option<&str>,
        params: &[Param],
    ) -> Result<Vec<Change>, PortError> {
        Ok(self.with_box(client, contact, |state| {
            if let Some(version) = version {
                if state.info.version.as_deref() != Some(version) {
                    state.info.version = Some(version.to_string());
                }
            }
            let mut changes = Vec::new();
            for p in params {
                let old = state.values.get(p.index);
                if old == Some(p.value) {
                    continue;
                }
                changes.push(Change {
                    index: p.index,
                    old,
                    new: p.value,
                });
                state.values.set(p.index, p.value);
                state.history.push(
                    p.index,
                    Sample {
                        at: contact.at,
                        value: p.value,
                    },
                );
            }
            changes
        }))
    }

    async fn values(
        &self,
        client: &ClientId,
        indices: &[Index],
    ) -> Result<Vec<Option<Value>>, PortError> {
        let boxes = lock(&self.boxes);
        let state = boxes.get(client);
        Ok(indices
            .iter()
            .map(|&i| state.and_then(|s| s.values.get(i)))
            .collect())
    }

    async fn table(&self, client: &ClientId) -> Result<Vec<Param>, PortError> {
        let boxes = lock(&self.boxes);
        let Some(state) = boxes.get(client) else {
            return Ok(Vec::new());
        };
        Ok(Index::all()
            .filter_map(|i| state.values.get(i).map(|v| Param::new(i, v)))
            .collect())
    }

    async fn history(&self, client: &ClientId, index: Index) -> Result<Vec<Sample>, PortError> {
        let boxes = lock(&self.boxes);
        Ok(boxes
            .get(client)
            .map(|s| s.history.get(index))
            .unwrap_or_default())
    }

    async fn clients(&self) -> Result<Vec<ClientInfo>, PortError> {
        Ok(lock(&self.boxes).values().map(|s| s.info.clone()).collect())
    }

    async fn record_devices(
        &self,
        client: &ClientId,
        updates: &[DeviceUpdate],
        at: Timestamp,
    ) -> Result<(), PortError> {
        let mut boxes = lock(&self.boxes);
        let Some(state) = boxes.get_mut(client) else {
            return Ok(()); // a box that never polled cannot have acked anything
        };
        for update in updates {
            if let Some(position) = catalog::position(update.device) {
                let acknowledged = Acknowledged {
                    state: update.state,
                    at,
                };
                state.devices.insert(position, acknowledged);
            }
        }
        Ok(())
    }

    async fn devices(
        &self,
        client: &ClientId,
    ) -> Result<Vec<(&'static Device, Acknowledged)>, PortError> {
        let boxes = lock(&self.boxes);
        let Some(state) = boxes.get(client) else {
            return Ok(Vec::new());
        };
        Ok(state
            .devices
            .iter()
            .filter_map(|(&n, &ack)| catalog::devices().get(n).map(|d| (d, ack)))
            .collect())
    }

    async fn pin(&self, client: &ClientId, pin: &Pin) -> Result<bool, PortError> {
        Ok(lock(&self.pins).entry(client.clone()).or_insert(*pin) == pin)
    }

    async fn forget_pin(&self, client: &ClientId) -> Result<(), PortError> {
        lock(&self.pins).remove(client);
        Ok(())
    }

    async fn forget_box(&self, client: &ClientId) -> Result<(), PortError> {
        lock(&self.boxes).remove(client);
        lock(&self.pins).remove(client);
        Ok(())
    }
}

/// One box's queue: its actions and its pending alarm order.
#[derive(Default)]
struct BoxQueue {
    actions: Vec<Queued>,
    alarm: Option<AlarmOrder>,
}

/// One FIFO of actions per box, and at most one alarm order per box, in memory.
#[derive(Default)]
pub struct MemoryQueue {
    queues: Mutex<HashMap<ClientId, BoxQueue>>,
}

impl MemoryQueue {
    /// Empty queues.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ActionQueue for MemoryQueue {
    async fn push(
        &self,
        client: &ClientId,
        commands: Vec<(Command, Guid)>,
    ) -> Result<Vec<Enqueued>, PortError> {
        let mut queues = lock(&self.queues);
        let queue = &mut queues.entry(client.clone()).or_default().actions;
        Ok(commands
            .into_iter()
            .map(|(command, guid)| merge::enqueue(queue, command, guid))
            .collect())
    }

    async fn pending(&self, client: &ClientId) -> Result<Vec<Queued>, PortError> {
        Ok(lock(&self.queues)
            .get(client)
            .map(|q| q.actions.clone())
            .unwrap_or_default())
    }

    async fn pending_alarm(&self, client: &ClientId) -> Result<Option<AlarmOrder>, PortError> {
        Ok(lock(&self.queues).get(client).and_then(|q| q.alarm.clone()))
    }

    async fn deliver(&self, client: &ClientId, room: usize) -> Result<Delivery, PortError> {
        let mut queues = lock(&self.queues);
        let Some(queue) = queues.get_mut(client) else {
            return Ok(Delivery::default());
        };
        let room = match &queue.alarm {
            Some(alarm) => reply::room_with_alarm(room, alarm.encoded_len()),
            None => room,
        };
        let lengths = queue.actions.iter().map(|q| reply::action_len(&q.action));
        let count = reply::fitting_count(lengths, room);
        let actions = queue.actions[..count]
            .iter_mut()
            .map(|entry| {
                entry.sent = true;
                entry.action.clone()
            })
            .collect();
        Ok(Delivery {
            alarm: queue.alarm.clone(),
            actions,
        })
    }

    async fn ack(&self, client: &ClientId, guid: &Guid) -> Result<Acked, PortError> {
        let mut queues = lock(&self.queues);
        let Some(queue) = queues.get_mut(client) else {
            return Ok(Acked::Unknown);
        };
        if queue.alarm.as_ref().is_some_and(|a| a.guid() == guid) {
            queue.alarm = None;
            return Ok(Acked::Alarm);
        }
        match queue.actions.iter().position(|q| q.action.guid == *guid) {
            Some(at) => Ok(Acked::Action(queue.actions.remove(at).action)),
            None => Ok(Acked::Unknown),
        }
    }

    async fn set_alarm(
        &self,
        client: &ClientId,
        alarm: AlarmOrder,
    ) -> Result<Option<Guid>, PortError> {
        let mut queues = lock(&self.queues);
        let queue = queues.entry(client.clone()).or_default();
        Ok(queue.alarm.replace(alarm).map(|old| old.guid().clone()))
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(AtomicU64::new(at.0))
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: u64) {
        self.0.fetch_add(millis, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::Relaxed))
    }
}

/// Guids `00000000-0000-4000-8000-000000000001`, `…002`, … (tests).
#[derive(Debug, Default)]
pub struct CountingGuids(AtomicU64);

impl GuidSource for CountingGuids {
    fn next_guid(&self) -> Guid {
        Guid::from_random(u128::from(self.0.fetch_add(1, Ordering::Relaxed) + 1))
    }
}

/// An event sink that keeps every event (tests).
#[derive(Debug, Default)]
pub struct RecordedEvents(Mutex<Vec<Event>>);

impl RecordedEvents {
    /// Takes the events recorded so far.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut lock(&self.0))
    }
}

impl EventSink for RecordedEvents {
    fn publish(&self, event: &Event) {
        lock(&self.0).push(event.clone());
    }
}

/// Runs `future` to completion on this thread, polling it until it is ready: enough for the
/// use cases on these ports, which never wait (with Redis or sockets, use a runtime).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_say_what_was_reported_and_history_keeps_the_last_samples_exactly() {
        let mut cells = Cells::new();
        let index = |n| Index::new(n).expect("index");
        assert_eq!(cells.get(index(952)), None);
        cells.set(index(952), Value(0));
        cells.set(index(0), Value(255));
        assert_eq!(
            cells.get(index(952)),
            Some(Value(0)),
            "a reported 0 is not unknown"
        );
        assert_eq!(cells.get(index(0)), Some(Value(255)));
        assert_eq!(cells.get(index(1)), None);

        let mut history = History::default();
        let at = Timestamp(1_796_300_000_123);
        for n in 0..(HISTORY_LEN as u64 + 3) {
            history.push(
                index(349),
                Sample {
                    at: Timestamp(at.0 + n),
                    value: Value(n as u8),
                },
            );
        }
        let samples = history.get(index(349));
        assert_eq!(samples.len(), HISTORY_LEN);
        assert_eq!(
            samples[0],
            Sample {
                at: Timestamp(at.0 + 3),
                value: Value(3)
            }
        );
        assert_eq!(
            samples.last().map(|s| s.value),
            Some(Value(HISTORY_LEN as u8 + 2))
        );
        assert!(history.get(index(350)).is_empty());
    }
}
