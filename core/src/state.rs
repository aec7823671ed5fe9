//! The state of the house's lights and shutters, and where each state comes from.
//!
//! The box does **not** report whether a lamp is on or a shutter open: cells 605–622 are the
//! server scenario's masks, not states. So the state of a light or shutter is the last command
//! the box **acknowledged** (`done`) for it, with when ([`Source::Acknowledged`]); before any,
//! it is [`Source::Unknown`]. Cells the box reports (heating modes, water heater, watering,
//! alarm, alerts, inputs, power: see [`crate::house`]) are states as reported
//! ([`Source::Reported`]).
//!
//! An acknowledged scene that gives one device both bits (on *and* off) leaves its state
//! unknown: the firmware's order for that case is not documented. A launched stored scenario
//! (Mode A) changes devices as its stored masks say, which the gateway does not see: their
//! state stays the last acknowledged one.

use crate::{
    action::Command,
    catalog::{self, Device},
    merge::Queued,
    order::Switch,
    ports::Timestamp,
    Index, Value,
};

/// Where a device's state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The last command the box acknowledged for it.
    Acknowledged,
    /// The value the box reported.
    Reported,
    /// Nothing known yet.
    Unknown,
}

impl Source {
    /// `acknowledged`, `reported` or `unknown`.
    pub const fn name(self) -> &'static str {
        match self {
            Source::Acknowledged => "acknowledged",
            Source::Reported => "reported",
            Source::Unknown => "unknown",
        }
    }
}

/// What an acknowledged action did to one device: `None` when it gave it both bits (unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceUpdate {
    /// The device.
    pub device: &'static Device,
    /// Its state now, if known.
    pub state: Option<Switch>,
}

/// A device's acknowledged state and when the box acknowledged it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    /// On/open or off/closed; `None` when the acknowledged command left it unknown.
    pub state: Option<Switch>,
    /// When the box acknowledged it.
    pub at: Timestamp,
}

/// One device's state as the gateway knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceState {
    /// The device.
    pub device: &'static Device,
    /// Its last acknowledged state, `None` if the box never acknowledged a command for it.
    pub acknowledged: Option<Acknowledged>,
}

impl DeviceState {
    /// Where the state comes from.
    pub fn source(&self) -> Source {
        match self.acknowledged {
            Some(Acknowledged { state: Some(_), .. }) => Source::Acknowledged,
            _ => Source::Unknown,
        }
    }

    /// The state, if known.
    pub fn state(&self) -> Option<Switch> {
        self.acknowledged.and_then(|a| a.state)
    }
}

/// The devices an acknowledged `command` settled: every device a scene gives a bit to. Launches
/// and plain writes settle none (see the module doc).
pub fn acknowledged_by(command: &Command) -> Vec<DeviceUpdate> {
    let Command::Scene(block) = command else {
        return Vec::new();
    };
    catalog::devices()
        .iter()
        .filter_map(|device| {
            let has = |index| block.get(index).unwrap_or(0) & device.bit != 0;
            let state = match (has(device.on_or_open), has(device.off_or_close)) {
                (false, false) => return None,
                (true, false) => Some(Switch::OnOrOpen),
                (false, true) => Some(Switch::OffOrClose),
                (true, true) => None,
            };
            Some(DeviceUpdate { device, state })
        })
        .collect()
}

/// What the orders waiting for a box will do once it has executed them: the last state each
/// gives a device, the last value each writes to a cell (the box runs them in queue order, so
/// a later order wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    devices: Vec<(&'static Device, Option<Switch>)>,
    cells: Vec<(Index, Value)>,
}

impl Waiting {
    /// From a box's queue, oldest first.
    pub fn of(queue: &[Queued]) -> Self {
        let mut waiting = Waiting::default();
        for queued in queue {
            let command = &queued.action.command;
            for update in acknowledged_by(command) {
                waiting
                    .devices
                    .retain(|(d, _)| !std::ptr::eq(*d, update.device));
                waiting.devices.push((update.device, update.state));
            }
            if let Command::Write(writes) = command {
                for param in writes.params() {
                    waiting.cells.retain(|(i, _)| *i != param.index);
                    waiting.cells.push((param.index, param.value));
                }
            }
        }
        waiting
    }

    /// The state an order waiting will give `device` (`Some(None)` when it gives both bits),
    /// `None` when none waits for it.
    pub fn device(&self, device: &'static Device) -> Option<Option<Switch>> {
        self.devices
            .iter()
            .find(|(d, _)| std::ptr::eq(*d, device))
            .map(|(_, state)| *state)
    }

    /// The value an order waiting will write to `index`, if one does.
    pub fn cell(&self, index: Index) -> Option<Value> {
        self.cells
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, v)| *v)
    }
}

/// Every device of the catalog with its acknowledged state from `known` (device, state) pairs.
pub fn device_states<'a>(
    known: impl IntoIterator<Item = (&'static Device, Acknowledged)> + 'a,
) -> Vec<DeviceState> {
    let mut states: Vec<DeviceState> = catalog::devices()
        .iter()
        .map(|device| DeviceState {
            device,
            acknowledged: None,
        })
        .collect();
    for (device, acknowledged) in known {
        if let Some(slot) = states.iter_mut().find(|s| std::ptr::eq(s.device, device)) {
            slot.acknowledged = Some(acknowledged);
        }
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{catalog::DeviceKind, Block, Index};

    fn scene(cells: &[(u16, u8)]) -> Command {
        let mut block = Block::default();
        for &(i, bits) in cells {
            block.set_bits(Index::known(i), bits);
        }
        Command::Scene(block)
    }

    #[test]
    fn what_waits_is_the_last_word_of_the_queue_for_each_device_and_cell() {
        use crate::{action::Writes, merge::Queued, Action, Guid, Param};
        let queued = |n: u128, command| Queued {
            action: Action {
                guid: Guid::from_random(n),
                command,
            },
            sent: false,
        };
        let write = |i, v| {
            Command::Write(Writes::new(vec![Param::new(Index::known(i), Value(v))]).unwrap())
        };
        let queue = [
            queued(1, scene(&[(613, 64)])),
            queued(2, write(349, 18)),
            queued(3, scene(&[(607, 64)])),
            queued(4, write(349, 17)),
        ];
        let waiting = Waiting::of(&queue);
        let lamp = catalog::device(DeviceKind::Light, "petite_chambre_3").unwrap();
        let stairs = catalog::device(DeviceKind::Light, "escalier").unwrap();
        assert_eq!(
            waiting.device(lamp),
            Some(Some(Switch::OffOrClose)),
            "the later scene wins"
        );
        assert_eq!(waiting.device(stairs), None, "no order for it");
        assert_eq!(waiting.cell(Index::known(349)), Some(Value(17)));
        assert_eq!(waiting.cell(Index::known(350)), None);
        assert_eq!(Waiting::of(&[]), Waiting::default());
    }

    #[test]
    fn a_scene_settles_the_devices_it_names() {
        let updates = acknowledged_by(&scene(&[(613, 64), (607, 1), (620, 1), (622, 8)]));
        let found: Vec<(&str, &str, Option<Switch>)> = updates
            .iter()
            .map(|u| (u.device.kind.name(), u.device.id, u.state))
            .collect();
        assert_eq!(
            found,
            vec![
                ("light", "escalier", Some(Switch::OffOrClose)),
                ("light", "petite_chambre_3", Some(Switch::OnOrOpen)),
                ("shutter", "salon_1", Some(Switch::OffOrClose)),
                ("awning", "store_terrasse", Some(Switch::OnOrOpen)),
            ]
        );
    }

    #[test]
    fn both_bits_leave_the_state_unknown_and_other_commands_settle_nothing() {
        let updates = acknowledged_by(&scene(&[(613, 64), (607, 64)]));
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].state, None);
        let launch = Command::Launch(crate::action::Slot::new(2).expect("slot 2"));
        assert!(acknowledged_by(&launch).is_empty());
    }

    #[test]
    fn states_cover_the_whole_catalog() {
        let lamp = catalog::device(DeviceKind::Light, "petite_chambre_3").expect("lamp");
        let ack = Acknowledged {
            state: Some(Switch::OnOrOpen),
            at: Timestamp(5),
        };
        let states = device_states([(lamp, ack)]);
        assert_eq!(states.len(), catalog::devices().len());
        let known: Vec<_> = states
            .iter()
            .filter(|s| s.source() == Source::Acknowledged)
            .collect();
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].device.id, "petite_chambre_3");
        assert_eq!(known[0].state(), Some(Switch::OnOrOpen));
    }
}
