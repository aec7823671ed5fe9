//! What keeps the box served while Redis is unreachable: a local cache of each box's queue and
//! buffers for what the box tells us, flushed when Redis is back.
//!
//! | box request | Redis up | Redis down |
//! |---|---|---|
//! | `myactions` (deliver) | script: alarm order and actions; refreshes the cache | actions served from the cache, same fitting rule; **no alarm order** (it waits in Redis, delivered once Redis is back) |
//! | `done` (ack) | script: alarm order or action removed; drops it from the cache | a cached action: dropped from the cache, given back ([`Acked::Action`]); any other guid: [`Acked::Unknown`]; either way the ack is remembered and applied (to the alarm order too) when Redis is back |
//! | `done` settling devices (`record_devices`) | pipeline | latest state per device buffered |
//! | `mystatus` (report) | script | latest value per cell buffered, no changes returned |
//! | `serverinfos` (poll) | pipeline | contact buffered |
//!
//! Orders (`push`, `set_alarm`) and reads (`pending`, `pending_alarm`, `devices`, the table…)
//! are refused while down: an order is never accepted without being stored in Redis. The
//! buffers are flushed (remembered acks, then delivered marks, then reports, then device
//! states, then polls) before the store is marked up again, so a flush never races with a live
//! write.
//!
//! An alarm order is never served from here: the box gets it from Redis only, so it is never
//! delivered twice after being acked, nor lost (its key is only deleted by an ack that names it).
//! A box that acks it during an outage (it got it before) gets [`Acked::Unknown`] — the adapter
//! cannot tell it was the alarm order without Redis — and the ack is applied on recovery.
//!
//! A std mutex guards all of it: held for map updates only, never across an `.await`.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use essensys_core::{
    ports::{Acked, Clock, Contact, Timestamp},
    reply,
    state::{Acknowledged, DeviceUpdate},
    Action, ClientId, Guid, Index, Param, Value,
};

/// Whether the state store reaches Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Redis answers; every operation goes to it.
    Up,
    /// Redis is unreachable: boxes are served from the local cache, their reports buffered.
    Down {
        /// When it went down (wall clock).
        since: Timestamp,
        /// Status reports buffered since (the latest value of each cell is kept).
        buffered_reports: usize,
        /// Acks the boxes sent since, to apply when Redis is back.
        remembered_acks: usize,
        /// Acknowledged device states waiting to be written (the latest per device).
        buffered_devices: usize,
    },
}

/// A box's status reports received while down, coalesced.
#[derive(Clone, Debug)]
pub(crate) struct BufferedReport {
    /// The last contact.
    pub(crate) contact: Contact,
    /// The last version reported.
    pub(crate) version: Option<String>,
    /// The latest value of each cell and when it was reported.
    pub(crate) values: BTreeMap<Index, (Value, Timestamp)>,
}

/// Everything to write back when Redis returns.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    /// Acks received while down, per box.
    pub(crate) acks: HashMap<ClientId, BTreeSet<Guid>>,
    /// Actions handed to a box from the cache, to mark sent.
    pub(crate) delivered: HashMap<ClientId, BTreeSet<Guid>>,
    /// Status reports, per box.
    pub(crate) reports: HashMap<ClientId, BufferedReport>,
    /// How many status reports were folded into `reports`.
    pub(crate) report_count: usize,
    /// The last `serverinfos` contact, per box.
    pub(crate) polls: HashMap<ClientId, Contact>,
    /// The latest acknowledged state of each device, by device key, per box.
    pub(crate) devices: HashMap<ClientId, BTreeMap<String, Acknowledged>>,
}

impl Buffers {
    fn is_empty(&self) -> bool {
        self.acks.is_empty()
            && self.delivered.is_empty()
            && self.reports.is_empty()
            && self.polls.is_empty()
            && self.devices.is_empty()
    }

    /// How many acks are remembered.
    pub(crate) fn ack_count(&self) -> usize {
        self.acks.values().map(BTreeSet::len).sum()
    }

    /// How many device states are buffered.
    pub(crate) fn device_count(&self) -> usize {
        self.devices.values().map(BTreeMap::len).sum()
    }

    /// Puts back what a failed flush took, under anything buffered since (which is newer).
    fn restore(&mut self, older: Buffers) {
        for (client, guids) in older.acks {
            self.acks.entry(client).or_default().extend(guids);
        }
        for (client, guids) in older.delivered {
            self.delivered.entry(client).or_default().extend(guids);
        }
        for (client, old) in older.reports {
            match self.reports.get_mut(&client) {
                None => {
                    self.reports.insert(client, old);
                }
                Some(newer) => {
                    for (index, sample) in old.values {
                        newer.values.entry(index).or_insert(sample);
                    }
                    if newer.version.is_none() {
                        newer.version = old.version;
                    }
                }
            }
        }
        self.report_count += older.report_count;
        for (client, contact) in older.polls {
            self.polls.entry(client).or_insert(contact);
        }
        for (client, states) in older.devices {
            let newer = self.devices.entry(client).or_default();
            for (device, acknowledged) in states {
                newer.entry(device).or_insert(acknowledged);
            }
        }
    }
}

struct State {
    down: Option<(Instant, Timestamp)>,
    cache: HashMap<ClientId, Vec<Action>>,
    buffers: Buffers,
}

/// The cache, the buffers and whether Redis is down.
pub(crate) struct Outage {
    state: Mutex<State>,
    /// The gateway's clock: when Redis went down, as [`Health::Down`] says.
    clock: Arc<dyn Clock>,
}

impl Outage {
    /// Up, nothing cached; the time of an outage read from `clock`.
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::new(State {
                down: None,
                cache: HashMap::new(),
                buffers: Buffers::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether Redis is considered unreachable.
    pub(crate) fn is_down(&self) -> bool {
        self.lock().down.is_some()
    }

    /// Marks Redis unreachable; `true` if it was up until now.
    pub(crate) fn mark_down(&self) -> bool {
        let mut state = self.lock();
        if state.down.is_some() {
            return false;
        }
        state.down = Some((Instant::now(), self.clock.now()));
        true
    }

    /// The health as reported to the app.
    pub(crate) fn health(&self) -> Health {
        let state = self.lock();
        match state.down {
            None => Health::Up,
            Some((_, since)) => Health::Down {
                since,
                buffered_reports: state.buffers.report_count,
                remembered_acks: state.buffers.ack_count(),
                buffered_devices: state.buffers.device_count(),
            },
        }
    }

    /// Replaces the cached queue of `client` with what Redis just returned (minus actions acked
    /// while down and not yet flushed).
    pub(crate) fn refresh(&self, client: &ClientId, actions: Vec<Action>) {
        let mut state = self.lock();
        let acked = state.buffers.acks.get(client).cloned().unwrap_or_default();
        let actions = actions
            .into_iter()
            .filter(|a| !acked.contains(&a.guid))
            .collect();
        state.cache.insert(client.clone(), actions);
    }

    /// Drops an acked action from the cache; gives it back if it was cached.
    pub(crate) fn forget(&self, client: &ClientId, guid: &Guid) -> Option<Action> {
        let mut state = self.lock();
        let queue = state.cache.get_mut(client)?;
        let at = queue.iter().position(|a| a.guid == *guid)?;
        Some(queue.remove(at))
    }

    /// Down: the cached actions that fit in `room` ([`reply::fitting_count`]), remembered as
    /// delivered. (No alarm order goes with them: see the module doc.)
    pub(crate) fn deliver(&self, client: &ClientId, room: usize) -> Vec<Action> {
        let mut state = self.lock();
        let State { cache, buffers, .. } = &mut *state;
        let Some(queue) = cache.get(client) else {
            return Vec::new();
        };
        let acked = buffers.acks.get(client);
        let candidates: Vec<&Action> = queue
            .iter()
            .filter(|a| !acked.is_some_and(|acked| acked.contains(&a.guid)))
            .collect();
        let count = reply::fitting_count(candidates.iter().map(|a| reply::action_len(a)), room);
        let picked: Vec<Action> = candidates[..count].iter().map(|a| (*a).clone()).collect();
        if !picked.is_empty() {
            buffers
                .delivered
                .entry(client.clone())
                .or_default()
                .extend(picked.iter().map(|a| a.guid.clone()));
        }
        picked
    }

    /// Down: drops the action from the cache and remembers the ack (applied to the queue and to
    /// the alarm order when Redis is back). The cached action if it was one, else
    /// [`Acked::Unknown`].
    pub(crate) fn ack(&self, client: &ClientId, guid: &Guid) -> Acked {
        let known = self.forget(client, guid);
        self.lock()
            .buffers
            .acks
            .entry(client.clone())
            .or_default()
            .insert(guid.clone());
        known.map_or(Acked::Unknown, Acked::Action)
    }

    /// Down: keeps the latest acknowledged state of each device.
    pub(crate) fn buffer_devices(
        &self,
        client: &ClientId,
        updates: &[DeviceUpdate],
        at: Timestamp,
    ) {
        if updates.is_empty() {
            return;
        }
        let mut state = self.lock();
        let devices = state.buffers.devices.entry(client.clone()).or_default();
        for update in updates {
            let acknowledged = Acknowledged {
                state: update.state,
                at,
            };
            devices.insert(update.device.key(), acknowledged);
        }
    }

    /// Down: keeps the latest value of each reported cell, the contact and the version.
    pub(crate) fn buffer_report(
        &self,
        client: &ClientId,
        contact: &Contact,
        version: Option<&str>,
        params: &[Param],
    ) {
        let mut state = self.lock();
        let buffers = &mut state.buffers;
        buffers.report_count += 1;
        let report = buffers
            .reports
            .entry(client.clone())
            .or_insert_with(|| BufferedReport {
                contact: contact.clone(),
                version: None,
                values: BTreeMap::new(),
            });
        report.contact = merge_contact(&report.contact, contact);
        if let Some(version) = version {
            report.version = Some(version.to_string());
        }
        for p in params {
            report.values.insert(p.index, (p.value, contact.at));
        }
    }

    /// Down: keeps the last `serverinfos` contact.
    pub(crate) fn buffer_poll(&self, client: &ClientId, contact: &Contact) {
        let mut state = self.lock();
        let polls = &mut state.buffers.polls;
        let merged = match polls.get(client) {
            Some(old) => merge_contact(old, contact),
            None => contact.clone(),
        };
        polls.insert(client.clone(), merged);
    }

    /// Takes everything buffered, to flush.
    pub(crate) fn take(&self) -> Buffers {
        std::mem::take(&mut self.lock().buffers)
    }

    /// Puts back what a failed flush could not write.
    pub(crate) fn restore(&self, older: Buffers) {
        self.lock().buffers.restore(older);
    }

    /// Marks Redis up if nothing was buffered since the last [`Outage::take`]; returns how
    /// long it was down. `None`: more to flush first.
    pub(crate) fn mark_up_if_flushed(&self) -> Option<Duration> {
        let mut state = self.lock();
        if !state.buffers.is_empty() {
            return None;
        }
        let since = state.down.take().map(|(at, _)| at.elapsed());
        Some(since.unwrap_or_default())
    }
}

/// The later contact, keeping the address and `Authorization` of the earlier one when the later
/// lacks them (as the store does).
fn merge_contact(older: &Contact, newer: &Contact) -> Contact {
    Contact {
        at: newer.at.max(older.at),
        address: newer.address.or(older.address),
        authorization: newer
            .authorization
            .clone()
            .or_else(|| older.authorization.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use essensys_core::{action::Slot, Command};

    fn launch(n: u128) -> Action {
        Action {
            guid: Guid::from_random(n),
            command: Command::Launch(Slot::new(5).expect("slot")),
        }
    }

    fn outage() -> Outage {
        Outage::new(Arc::new(essensys_memory::ManualClock::new(Timestamp(
            7_000,
        ))))
    }

    #[test]
    fn an_outage_is_dated_by_the_gateways_clock() {
        let outage = outage();
        assert_eq!(outage.health(), Health::Up);
        outage.mark_down();
        assert!(
            matches!(
                outage.health(),
                Health::Down {
                    since: Timestamp(7_000),
                    ..
                }
            ),
            "{:?}",
            outage.health()
        );
    }

    #[test]
    fn down_serves_the_cache_and_remembers_acks() {
        let outage = outage();
        let client = ClientId::default_box();
        outage.refresh(&client, (1..=3).map(launch).collect());
        assert!(outage.mark_down());
        assert!(!outage.mark_down(), "once");
        let one = reply::action_len(&launch(1));
        assert_eq!(outage.deliver(&client, 2 * one + 1).len(), 2);
        assert_eq!(
            outage.ack(&client, &launch(1).guid),
            Acked::Action(launch(1))
        );
        assert_eq!(outage.ack(&client, &launch(1).guid), Acked::Unknown);
        // a guid the cache does not know (an alarm order's, say) is remembered all the same
        assert_eq!(outage.ack(&client, &launch(9).guid), Acked::Unknown);
        assert_eq!(
            outage.deliver(&client, usize::MAX),
            vec![launch(2), launch(3)]
        );
        // a stale refresh does not bring an acked action back
        outage.refresh(&client, (1..=3).map(launch).collect());
        assert_eq!(outage.deliver(&client, usize::MAX).len(), 2);
        assert!(matches!(
            outage.health(),
            Health::Down {
                remembered_acks: 2,
                buffered_reports: 0,
                buffered_devices: 0,
                ..
            }
        ));
        assert_eq!(outage.mark_up_if_flushed(), None, "acks still to flush");
        let taken = outage.take();
        assert_eq!(taken.ack_count(), 2);
        assert!(outage.mark_up_if_flushed().is_some());
        assert_eq!(outage.health(), Health::Up);
    }

    #[test]
    fn a_failed_flush_keeps_the_newer_values() {
        let outage = outage();
        let client = ClientId::default_box();
        let contact = |at| Contact {
            at: Timestamp(at),
            address: None,
            authorization: None,
        };
        let cell = |i: u16, v: u8| Param::new(Index::new(i).expect("index"), Value::from(v));
        outage.mark_down();
        outage.buffer_report(
            &client,
            &contact(1),
            Some("37"),
            &[cell(349, 1), cell(350, 1)],
        );
        let taken = outage.take();
        outage.buffer_report(&client, &contact(2), None, &[cell(349, 2)]);
        outage.restore(taken);
        let buffers = outage.take();
        let report = &buffers.reports[&client];
        let values: Vec<(u16, u8)> = report
            .values
            .iter()
            .map(|(i, (v, _))| (i.get(), v.get()))
            .collect();
        assert_eq!(values, vec![(349, 2), (350, 1)]);
        assert_eq!(report.version.as_deref(), Some("37"));
        assert_eq!(report.contact.at, Timestamp(2));
        assert_eq!(buffers.report_count, 2);
    }

    #[test]
    fn device_states_keep_the_latest_per_device_through_a_failed_flush() {
        use essensys_core::{
            catalog::{self, DeviceKind},
            order::Switch,
        };
        let outage = outage();
        let client = ClientId::default_box();
        let lamp = catalog::device(DeviceKind::Light, "petite_chambre_3").expect("lamp");
        let stairs = catalog::device(DeviceKind::Light, "escalier").expect("stairs");
        let update = |device, state| DeviceUpdate { device, state };
        outage.mark_down();
        outage.buffer_devices(
            &client,
            &[update(lamp, Some(Switch::OnOrOpen)), update(stairs, None)],
            Timestamp(1),
        );
        outage.buffer_devices(
            &client,
            &[update(lamp, Some(Switch::OffOrClose))],
            Timestamp(2),
        );
        assert!(matches!(
            outage.health(),
            Health::Down {
                buffered_devices: 2,
                ..
            }
        ));
        let taken = outage.take();
        outage.buffer_devices(
            &client,
            &[update(stairs, Some(Switch::OnOrOpen))],
            Timestamp(3),
        );
        outage.restore(taken);
        assert_eq!(
            outage.mark_up_if_flushed(),
            None,
            "device states still to flush"
        );
        let buffers = outage.take();
        let states: Vec<(&str, Option<Switch>, u64)> = buffers.devices[&client]
            .iter()
            .map(|(key, a)| (key.as_str(), a.state, a.at.0))
            .collect();
        assert_eq!(
            states,
            vec![
                ("light.escalier", Some(Switch::OnOrOpen), 3),
                ("light.petite_chambre_3", Some(Switch::OffOrClose), 2),
            ]
        );
    }
}
