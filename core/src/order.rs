//! What someone wants the house to do — an [`Order`] — checked and expanded into the
//! [`Command`]s the box understands.
//!
//! Every entry point (admin API, dashboard, Home Assistant, MCP) builds an `Order` and hands it
//! to [`crate::Gateway::inject`]; [`Order::commands`] is the one place where orders are validated
//! and expanded:
//! - lights and shutters become a Mode B scene (`590 = 1` + the whole block 605–622, the masks
//!   that were not named set to 0);
//! - launching stored slot N (2–8) is Mode A (`590 = N` alone);
//! - every other cell is a plain write, chunked by 30 params.
//!
//! An order naming an index ≥ 953, a value above 255 or not a number, a cell the box does not
//! let the server write, or a protected cell ([`catalog::protection`]: the remote key, the
//! alarm) is refused with an [`OrderError`] that names it: such an action would
//! make every cycle of the box fail, or be silently ignored.

use thiserror::Error;

use crate::{
    action::{Block, Command, Slot, Writes, MAX_PARAMS},
    catalog::{self, in_block, Access, Device, DeviceKind, Protection, SCENARIO},
    cell::{CellError, Index, Param, Value},
};

/// What a device should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Switch {
    /// Switch a light on, open a shutter, deploy the awning.
    OnOrOpen,
    /// Switch a light off, close a shutter, raise the awning.
    OffOrClose,
}

/// One device and what it should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceOrder {
    /// The device, from [`catalog::devices`].
    pub device: &'static Device,
    /// What it should do.
    pub switch: Switch,
}

impl DeviceOrder {
    /// Looks a device up by kind and id (`light`, `petite_chambre_3`).
    pub fn find(kind: DeviceKind, id: &str, switch: Switch) -> Result<Self, OrderError> {
        catalog::device(kind, id)
            .map(|device| Self { device, switch })
            .ok_or_else(|| OrderError::UnknownDevice {
                kind,
                id: id.chars().take(64).collect(),
            })
    }
}

/// A cell write as it arrives from outside, before any check: `{"k":613,"v":"64"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCell {
    /// The index as given.
    pub k: u64,
    /// The value as given (decimal text).
    pub v: String,
}

/// What someone wants the house to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Order {
    /// Switch lights on/off and open/close shutters (Mode B).
    Devices(Vec<DeviceOrder>),
    /// Launch stored scenario slot N, 2–8 (Mode A).
    Launch(u8),
    /// Write cells, as the admin API and older tools send them. Cells of the block 605–622
    /// become a scene, `590 = N` a launch, the rest plain writes.
    Cells(Vec<RawCell>),
}

/// Why an order was refused. Nothing of a refused order is queued.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum OrderError {
    /// The order asks for nothing.
    #[error("the order is empty: give at least one device or cell")]
    Empty,
    /// A cell is malformed (index out of the table, value not a byte).
    #[error("cell {position}: {source}")]
    Cell {
        /// 1-based position of the cell in the order.
        position: usize,
        /// What is wrong with it.
        source: CellError,
    },
    /// The box does not let the server write this cell.
    #[error("index {index} ({name}) is not writable by the server (access {access})")]
    NotWritable {
        /// The cell.
        index: u16,
        /// Its firmware name.
        name: &'static str,
        /// What the box allows.
        access: Access,
    },
    /// The box would accept the write, but it would break something only the box's owner may
    /// change there (the remote key, the alarm).
    #[error("index {index} ({name}) is never written by an order: {}", .protection.reason())]
    Protected {
        /// The cell.
        index: u16,
        /// Its firmware name.
        name: &'static str,
        /// Why.
        protection: Protection,
    },
    /// The same cell is given twice.
    #[error("index {0} is given twice in one order")]
    Duplicate(u16),
    /// A scenario slot that cannot be launched on its own.
    #[error("scenario {0} cannot be launched: stored slots are 2..=8 (slot 1 is the server scenario, run by giving lamp/shutter masks 605..=622)")]
    Slot(u8),
    /// 590 is combined with cells it cannot go with.
    #[error("index 590 = {0} cannot be combined with masks 605..=622: only 590 = 1 runs them")]
    LaunchWithMasks(u8),
    /// 590 = 1 without any mask: it would re-run nothing.
    #[error("index 590 = 1 runs the server scenario and needs lamp/shutter masks 605..=622")]
    SceneWithoutMasks,
    /// A device is not in the catalog.
    #[error("no {kind} with id {id:?}")]
    UnknownDevice {
        /// The kind asked for.
        kind: DeviceKind,
        /// The id asked for.
        id: String,
    },
    /// One device is told two opposite things in one order.
    #[error("{kind} {id:?} is told both to switch on/open and off/close")]
    Contradiction {
        /// Its kind.
        kind: DeviceKind,
        /// Its id.
        id: &'static str,
    },
}

impl Order {
    /// Validates the order and expands it into commands, in the order the box should run them.
    pub fn commands(&self) -> Result<Vec<Command>, OrderError> {
        match self {
            Order::Devices(devices) => Ok(vec![Command::Scene(device_block(devices)?)]),
            Order::Launch(n) => Slot::new(*n)
                .map(|slot| vec![Command::Launch(slot)])
                .ok_or(OrderError::Slot(*n)),
            Order::Cells(cells) => cell_commands(cells),
        }
    }
}

fn device_block(devices: &[DeviceOrder]) -> Result<Block, OrderError> {
    if devices.is_empty() {
        return Err(OrderError::Empty);
    }
    let mut block = Block::default();
    for order in devices {
        let d = order.device;
        let (wanted, opposite) = match order.switch {
            Switch::OnOrOpen => (d.on_or_open, d.off_or_close),
            Switch::OffOrClose => (d.off_or_close, d.on_or_open),
        };
        if block.get(opposite).unwrap_or(0) & d.bit != 0 {
            return Err(OrderError::Contradiction {
                kind: d.kind,
                id: d.id,
            });
        }
        block.set_bits(wanted, d.bit);
    }
    Ok(block)
}

fn cell_commands(cells: &[RawCell]) -> Result<Vec<Command>, OrderError> {
    if cells.is_empty() {
        return Err(OrderError::Empty);
    }
    let mut seen = [false; crate::cell::TABLE_SIZE as usize];
    let mut block: Option<Block> = None;
    let mut launch: Option<u8> = None;
    let mut writes = Vec::new();
    for (n, raw) in cells.iter().enumerate() {
        let param = check_cell(n + 1, raw)?;
        let slot = &mut seen[usize::from(param.index.get())];
        if std::mem::replace(slot, true) {
            return Err(OrderError::Duplicate(param.index.get()));
        }
        if param.index == SCENARIO {
            launch = Some(param.value.get());
        } else if in_block(param.index) {
            block
                .get_or_insert_with(Block::default)
                .set_bits(param.index, param.value.get());
        } else {
            writes.push(param);
        }
    }
    let mut commands: Vec<Command> = writes
        .chunks(MAX_PARAMS)
        .filter_map(|chunk| Writes::new(chunk.to_vec()).ok().map(Command::Write))
        .collect();
    match (launch, block) {
        (None, Some(block)) | (Some(1), Some(block)) => commands.push(Command::Scene(block)),
        (Some(1), None) => return Err(OrderError::SceneWithoutMasks),
        (Some(n), Some(_)) => return Err(OrderError::LaunchWithMasks(n)),
        (Some(n), None) => commands.push(Command::Launch(Slot::new(n).ok_or(OrderError::Slot(n))?)),
        (None, None) => {}
    }
    Ok(commands)
}

fn check_cell(position: usize, raw: &RawCell) -> Result<Param, OrderError> {
    let cell_error = |source| OrderError::Cell { position, source };
    let index = Index::try_from(raw.k).map_err(|e| cell_error(e.into()))?;
    let value: Value = raw.v.parse().map_err(cell_error)?;
    let info = index.info();
    if !info.access.writable() {
        return Err(OrderError::NotWritable {
            index: index.get(),
            name: info.name,
            access: info.access,
        });
    }
    if let Some(protection) = catalog::protection(index) {
        return Err(OrderError::Protected {
            index: index.get(),
            name: info.name,
            protection,
        });
    }
    Ok(Param::new(index, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(list: &[(u64, &str)]) -> Order {
        Order::Cells(
            list.iter()
                .map(|&(k, v)| RawCell {
                    k,
                    v: v.to_string(),
                })
                .collect(),
        )
    }

    fn scene(cells: &[(u16, u8)]) -> Command {
        let mut b = Block::default();
        for &(i, bits) in cells {
            b.set_bits(Index(i), bits);
        }
        Command::Scene(b)
    }

    #[test]
    fn the_remote_key_and_the_alarm_cells_are_never_written() {
        for (k, says) in [
            (922, "re-key"),
            (937, "re-key"),
            (407, "keypad"),
            (415, "alarm order"),
        ] {
            let err = cells(&[(349, "17"), (k, "1")]).commands().unwrap_err();
            assert!(matches!(err, OrderError::Protected { index, .. } if u64::from(index) == k));
            assert!(err.to_string().contains(says), "{err}");
        }
        assert!(cells(&[(406, "1")]).commands().is_ok());
    }

    #[test]
    fn a_lamp_cell_becomes_a_full_scene() {
        assert_eq!(
            cells(&[(613, "64")]).commands(),
            Ok(vec![scene(&[(613, 64)])])
        );
        assert_eq!(
            cells(&[(590, "1"), (613, "64")]).commands(),
            Ok(vec![scene(&[(613, 64)])])
        );
    }

    #[test]
    fn devices_become_a_scene() {
        let lamp = DeviceOrder::find(DeviceKind::Light, "petite_chambre_3", Switch::OnOrOpen);
        let shutter = DeviceOrder::find(DeviceKind::Shutter, "bureau", Switch::OffOrClose);
        let order = Order::Devices(vec![lamp.expect("lamp"), shutter.expect("shutter")]);
        assert_eq!(order.commands(), Ok(vec![scene(&[(613, 64), (620, 32)])]));
        let off = DeviceOrder::find(DeviceKind::Light, "petite_chambre_3", Switch::OffOrClose);
        let on = DeviceOrder::find(DeviceKind::Light, "petite_chambre_3", Switch::OnOrOpen);
        let err = Order::Devices(vec![on.expect("on"), off.expect("off")]).commands();
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("light \"petite_chambre_3\" is told both to switch on/open and off/close".into())
        );
        assert!(DeviceOrder::find(DeviceKind::Light, "garage", Switch::OnOrOpen).is_err());
    }

    #[test]
    fn launching_is_mode_a_for_slots_2_to_8_only() {
        let slot = |n| Command::Launch(Slot::new(n).expect("slot"));
        assert_eq!(Order::Launch(5).commands(), Ok(vec![slot(5)]));
        assert_eq!(Order::Launch(1).commands(), Err(OrderError::Slot(1)));
        assert_eq!(Order::Launch(9).commands(), Err(OrderError::Slot(9)));
        assert_eq!(cells(&[(590, "8")]).commands(), Ok(vec![slot(8)]));
        assert_eq!(
            cells(&[(590, "1")]).commands(),
            Err(OrderError::SceneWithoutMasks)
        );
        assert_eq!(cells(&[(590, "0")]).commands(), Err(OrderError::Slot(0)));
        assert_eq!(
            cells(&[(590, "3"), (613, "1")]).commands(),
            Err(OrderError::LaunchWithMasks(3))
        );
        // writing a slot then launching it: the writes go first
        let w = Writes::new(vec![Param::new(Index(700), Value(1))]).expect("writes");
        assert_eq!(
            cells(&[(590, "3"), (700, "1")]).commands(),
            Ok(vec![Command::Write(w), slot(3)])
        );
    }

    #[test]
    fn plain_writes_are_chunked_by_30() {
        let many: Vec<(u64, String)> = (13..54).map(|k| (k, "1".to_string())).collect();
        let order = Order::Cells(
            many.iter()
                .map(|(k, v)| RawCell {
                    k: *k,
                    v: v.clone(),
                })
                .collect(),
        );
        let commands = order.commands().expect("valid writes");
        let sizes: Vec<usize> = commands.iter().map(Command::param_count).collect();
        assert_eq!(sizes, vec![30, 11]);
        let all: Vec<u16> = commands
            .iter()
            .flat_map(|c| c.params())
            .map(|p| p.index.get())
            .collect();
        assert_eq!(all, (13..54).collect::<Vec<_>>());
    }

    #[test]
    fn bad_cells_are_refused_with_their_reason() {
        let message = |order: Order| order.commands().map_err(|e| e.to_string()).err();
        assert_eq!(
            message(cells(&[(349, "17"), (953, "1")])).as_deref(),
            Some("cell 2: index 953 is out of the exchange table (0..=952)")
        );
        assert_eq!(
            message(cells(&[(613, "256")])).as_deref(),
            Some("cell 1: value \"256\" is above 255 (a cell holds one byte)")
        );
        assert_eq!(
            message(cells(&[(613, "on")])).as_deref(),
            Some("cell 1: value \"on\" is not a decimal number 0..=255")
        );
        assert_eq!(
            message(cells(&[(0, "1")])).as_deref(),
            Some("index 0 (Version_SoftBP_Embedded) is not writable by the server (access R)")
        );
        assert_eq!(
            message(cells(&[(417, "1")])).as_deref(),
            Some("index 417 (Alarme_CodeUser1LSB) is not writable by the server (access -)")
        );
        assert_eq!(
            message(cells(&[(349, "1"), (349, "2")])).as_deref(),
            Some("index 349 is given twice in one order")
        );
        assert_eq!(
            message(cells(&[])).as_deref(),
            Some("the order is empty: give at least one device or cell")
        );
    }
}
