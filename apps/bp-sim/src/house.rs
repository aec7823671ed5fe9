//! The simulated box's state: its exchange [`Table`] (953 cells) and the [`House`] its outputs
//! drive (every light, dimmer, shutter and the awning of the catalog), and how one action
//! changes them (`legacy-protocol.md` §3.3, §7; `exchange-table.md`).
//!
//! # Executing an action
//! 1. Every param except 590 is written in the order received. A write to a cell the box does
//!    not let the server write (catalog access `R` or `-`) is ignored (and the action is still
//!    acked).
//! 2. Then 590 (the last 590 param if several), if non-zero:
//!    - `1` runs the server scenario: the masks in cells 605–622, as they now stand (a partial
//!      block re-applies stale masks, as on the real box), switch devices on/off and open/close
//!      them;
//!    - `2`–`8` launch stored slot N: the same 18 masks at offsets 13–30 of the slot
//!      (`592 + 41·(N−1) + 13…`) are applied, and 591 (`Scenario_DernierLance`) is set to N.
//!      Only the light/shutter masks of a stored slot are simulated (not its alarm, heating,
//!      water-heater or wake-up fields);
//!    - anything else runs nothing.
//!
//!    The box then resets 590 to 0.
//!
//! **A device with both its bits set** (on and off, or open and close): the firmware's order is
//! not known. The sim applies the 18 mask cells in slot (index) order, 605 → 622, and the later
//! cell wins: a light ends **on** (611–616 come after 605–610), a shutter ends **closed**
//! (620–622 after 617–619), the awning ends **open = deployed** (622 after 619). Such a conflict
//! is reported as a change line.

use std::fmt;

use essensys_core::{Index, Param, Value};

use crate::{
    catalog::{self, Device, DeviceKind},
    codec,
    key::CELLS as KEY_CELLS,
    TABLE_SIZE,
};

/// The scenario trigger cell.
const SCENARIO: u16 = 590;
/// The "last stored scenario launched" cell.
const LAST_SCENARIO: u16 = 591;
/// The first cell of the scenario slots (slot 1 = server scenario).
const SLOTS_START: u16 = 592;
/// Bytes per scenario slot.
const SLOT_LEN: u16 = 41;
/// Offset of the first light/shutter mask in a slot (cell 605 in slot 1).
const MASKS_OFFSET: u16 = 13;
/// Number of light/shutter masks (605–622).
const MASKS_LEN: usize = 18;
/// The first mask cell of slot 1 (605).
const BLOCK_START: u16 = SLOTS_START + MASKS_OFFSET;

/// The box's exchange table: 953 one-byte cells.
///
/// A new table holds 0 everywhere except cell 1 (server protocol version, 37) and cell 4
/// (table version, 30).
#[derive(Clone, PartialEq, Eq)]
pub struct Table {
    /// Cell values by index.
    cells: [u8; TABLE_SIZE as usize],
}

impl Table {
    /// A fresh table (see the type's doc for the non-zero defaults).
    pub fn new() -> Self {
        let mut cells = [0u8; TABLE_SIZE as usize];
        cells[1] = 37;
        cells[4] = 30;
        Self { cells }
    }

    /// The value of a cell.
    pub fn get(&self, index: Index) -> Value {
        Value(self.cells[usize::from(index.get())])
    }

    /// Sets a cell, whatever the server's access to it (this is the box's own side: its screen,
    /// sensors and clock).
    pub fn set(&mut self, index: Index, value: Value) {
        self.cells[usize::from(index.get())] = value.get();
    }

    /// All 953 cells, by index.
    pub fn cells(&self) -> &[u8] {
        &self.cells
    }

    /// The value text the box puts in `mystatus` for an index asked for by `serverinfos`:
    /// `"0"` for an index ≥ 953 or one the server may not read (catalog access `W` or `-`),
    /// an 8-character LSB-first binary string for 11/920/921, decimal otherwise.
    pub fn reported(&self, raw: u16) -> String {
        match catalog::cell(raw) {
            Some(info) if info.readable() => {}
            _ => return "0".into(),
        }
        codec::reported(raw, self.cell(raw))
    }

    /// A cell by raw index known to be in range.
    fn cell(&self, raw: u16) -> u8 {
        self.cells.get(usize::from(raw)).copied().unwrap_or(0)
    }

    /// Sets a cell by raw index known to be in range.
    fn set_raw(&mut self, raw: u16, value: u8) {
        if let Some(cell) = self.cells.get_mut(usize::from(raw)) {
            *cell = value;
        }
    }
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Table {
    /// Lists the non-zero cells only, hiding the key cells.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (i, &v) in (0u16..).zip(self.cells.iter()) {
            if v != 0 && !KEY_CELLS.contains(&i) {
                map.entry(&i, &v);
            }
        }
        map.finish()
    }
}

/// The state of one output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceState {
    /// A light or dimmer that is off.
    Off,
    /// A light or dimmer that is on.
    On,
    /// A shutter that is closed, or the awning raised.
    Closed,
    /// A shutter that is open, or the awning deployed.
    Open,
}

impl DeviceState {
    /// The state a device of that kind starts in: off, or closed (awning raised).
    pub fn initial(kind: DeviceKind) -> Self {
        if catalog::switched(kind) {
            DeviceState::Off
        } else {
            DeviceState::Closed
        }
    }

    /// The state its `on_or_open` mask bit puts a device of that kind in.
    fn on_or_open(kind: DeviceKind) -> Self {
        if catalog::switched(kind) {
            DeviceState::On
        } else {
            DeviceState::Open
        }
    }

    /// The lower-case name: `off`, `on`, `closed`, `open`.
    pub const fn name(self) -> &'static str {
        match self {
            DeviceState::Off => "off",
            DeviceState::On => "on",
            DeviceState::Closed => "closed",
            DeviceState::Open => "open",
        }
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One device that changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceChange {
    /// The device, from bp-sim's own [`crate::catalog`].
    pub device: &'static Device,
    /// Its state before.
    pub from: DeviceState,
    /// Its state after.
    pub to: DeviceState,
}

impl fmt::Display for DeviceChange {
    /// `light petite_chambre_3 (Petite chambre 3): off -> on`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {} -> {}",
            self.device.kind, self.device.id, self.device.label, self.from, self.to
        )
    }
}

/// Every output of the house and its state, in catalog order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct House {
    /// One state per device of [`catalog::devices()`], same order.
    states: Vec<DeviceState>,
}

impl House {
    /// A house with every light off and every shutter closed (awning raised).
    pub fn new() -> Self {
        Self {
            states: catalog::devices()
                .iter()
                .map(|d| DeviceState::initial(d.kind))
                .collect(),
        }
    }

    /// The state of the device of that kind and id, if the catalog has it.
    pub fn state(&self, kind: DeviceKind, id: &str) -> Option<DeviceState> {
        self.iter()
            .find(|(d, _)| d.kind == kind && d.id == id)
            .map(|(_, s)| s)
    }

    /// Every device and its state, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Device, DeviceState)> + '_ {
        catalog::devices().iter().zip(self.states.iter().copied())
    }

    /// Applies 18 light/shutter masks (slot offsets 13–30, i.e. cells 605–622 for slot 1) in
    /// slot order; see the module doc for the both-bits rule.
    fn apply_masks(&mut self, masks: &[u8; MASKS_LEN], effects: &mut Effects) {
        for (device, state) in catalog::devices().iter().zip(self.states.iter_mut()) {
            let mask_of = |cell: u16| -> u8 {
                let offset = usize::from(cell.wrapping_sub(BLOCK_START));
                masks.get(offset).copied().unwrap_or(0)
            };
            let on = mask_of(device.on_or_open) & device.bit != 0;
            let off = mask_of(device.off_or_close) & device.bit != 0;
            let target = match (on, off) {
                (false, false) => continue,
                (true, false) => DeviceState::on_or_open(device.kind),
                (false, true) => DeviceState::initial(device.kind),
                (true, true) => {
                    let (later, target) = if device.on_or_open > device.off_or_close {
                        (device.on_or_open, DeviceState::on_or_open(device.kind))
                    } else {
                        (device.off_or_close, DeviceState::initial(device.kind))
                    };
                    effects.lines.push(format!(
                        "{} {}: both bits set ({} and {}); the later mask in slot order ({later}) wins: {target}",
                        device.kind, device.id, device.on_or_open, device.off_or_close
                    ));
                    target
                }
            };
            if *state != target {
                let change = DeviceChange {
                    device,
                    from: *state,
                    to: target,
                };
                effects.lines.push(change.to_string());
                effects.devices.push(change);
                *state = target;
            }
        }
    }
}

impl Default for House {
    fn default() -> Self {
        Self::new()
    }
}

/// What executing one action did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Effects {
    /// Human lines: cells changed, writes ignored, scenario run, devices changed.
    pub lines: Vec<String>,
    /// The devices that changed state.
    pub devices: Vec<DeviceChange>,
    /// The non-zero 590 value written, if any.
    pub scenario: Option<u8>,
    /// Whether a key cell (922–937) was written.
    pub key_written: bool,
}

/// Executes one action's params on the table and the house (module doc).
pub(crate) fn execute(table: &mut Table, house: &mut House, params: &[Param]) -> Effects {
    let mut effects = Effects::default();
    for param in params.iter().filter(|p| p.index.get() != SCENARIO) {
        let raw = param.index.get();
        let Some(info) = catalog::cell(raw).filter(|info| info.writable()) else {
            let name = catalog::cell(raw).map_or("?", |info| info.name);
            effects.lines.push(format!(
                "write {} to cell {raw} ({name}) ignored: the box does not let the server write it",
                param.value
            ));
            continue;
        };
        let old = table.get(param.index);
        table.set(param.index, param.value);
        if KEY_CELLS.contains(&raw) {
            effects.key_written = true;
            if old != param.value {
                effects
                    .lines
                    .push(format!("cell {raw} ({}): key digits changed", info.name));
            }
        } else if old != param.value {
            effects.lines.push(format!(
                "cell {raw} ({}): {old} -> {}",
                info.name, param.value
            ));
        }
    }

    let scenario = params
        .iter()
        .rev()
        .find(|p| p.index.get() == SCENARIO)
        .map(|p| p.value.get())
        .filter(|&v| v != 0);
    if let Some(n) = scenario {
        effects.scenario = Some(n);
        table.set_raw(SCENARIO, n);
        match n {
            1 => {
                effects
                    .lines
                    .push("scenario 1 (server scenario) run: masks 605-622 applied".to_string());
                let masks = slot_masks(table, 1);
                house.apply_masks(&masks, &mut effects);
            }
            2..=8 => {
                effects.lines.push(format!(
                    "scenario {n} ({}) launched: its light/shutter masks applied (other slot fields not simulated)",
                    slot_name(n)
                ));
                let masks = slot_masks(table, n);
                house.apply_masks(&masks, &mut effects);
                let old = table.cell(LAST_SCENARIO);
                table.set_raw(LAST_SCENARIO, n);
                if old != n {
                    effects
                        .lines
                        .push(format!("cell 591 (Scenario_DernierLance): {old} -> {n}"));
                }
            }
            _ => effects
                .lines
                .push(format!("scenario {n}: no such slot (1-8), nothing run")),
        }
        table.set_raw(SCENARIO, 0);
    }
    effects
}

/// The 18 light/shutter masks of scenario slot `n` (1–8).
fn slot_masks(table: &Table, n: u8) -> [u8; MASKS_LEN] {
    let base = SLOTS_START + SLOT_LEN * (u16::from(n) - 1) + MASKS_OFFSET;
    let mut masks = [0u8; MASKS_LEN];
    for (mask, cell) in masks.iter_mut().zip(base..) {
        *mask = table.cell(cell);
    }
    masks
}

/// The name of scenario slot `n` (`exchange-table.md`).
fn slot_name(n: u8) -> &'static str {
    match n {
        1 => "server scenario",
        2 => "je sors",
        3 => "je pars en vacances",
        4 => "je rentre",
        5 => "je vais me coucher",
        6 => "je me lève",
        7 => "custom 1",
        8 => "custom 2",
        _ => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(k: u16, v: u8) -> Param {
        Param::new(Index::new(k).expect("test index"), Value(v))
    }

    #[test]
    fn server_scenario_switches_by_mask_and_resets_590() {
        let (mut table, mut house) = (Table::new(), House::new());
        let effects = execute(&mut table, &mut house, &[param(590, 1), param(613, 64)]);
        assert_eq!(
            house.state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::On)
        );
        assert_eq!(effects.scenario, Some(1));
        assert_eq!(effects.devices.len(), 1);
        assert!(effects
            .lines
            .contains(&"light petite_chambre_3 (Petite chambre 3): off -> on".to_string()));
        assert_eq!(table.cell(590), 0);
        assert_eq!(table.cell(613), 64);
        // The mask stays stored: a later 590=1 with a partial block re-applies it.
        let effects = execute(&mut table, &mut house, &[param(607, 64), param(590, 1)]);
        assert!(effects.lines.iter().any(|l| l.contains("both bits set")));
        assert_eq!(
            house.state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::On)
        );
    }

    #[test]
    fn both_bits_follow_slot_order() {
        let (mut table, mut house) = (Table::new(), House::new());
        // Awning: 622 deploy (on_or_open), 619 raise; 622 is later, so it deploys.
        // Shutter salon_1: 617 open, 620 close; 620 is later, so it stays closed.
        execute(
            &mut table,
            &mut house,
            &[
                param(622, 8),
                param(619, 8),
                param(617, 1),
                param(620, 1),
                param(590, 1),
            ],
        );
        assert_eq!(
            house.state(DeviceKind::Awning, "store_terrasse"),
            Some(DeviceState::Open)
        );
        let shutter = catalog::devices()
            .iter()
            .find(|d| d.kind == DeviceKind::Shutter && d.on_or_open == 617 && d.bit == 1)
            .expect("a PDV shutter on bit 1");
        assert_eq!(
            house.state(shutter.kind, shutter.id),
            Some(DeviceState::Closed)
        );
    }

    #[test]
    fn read_only_writes_are_ignored_and_key_cells_hidden() {
        let (mut table, mut house) = (Table::new(), House::new());
        let effects = execute(&mut table, &mut house, &[param(0, 9), param(922, 0x21)]);
        assert_eq!(table.cell(0), 0);
        assert!(effects.lines[0].contains("ignored"));
        assert!(effects.key_written);
        let name = catalog::cell(922).map(|c| c.name).unwrap_or_default();
        assert_eq!(
            effects.lines[1],
            format!("cell 922 ({name}): key digits changed")
        );
        assert_eq!(table.reported(922), "0");
        assert_eq!(table.reported(953), "0");
        assert_eq!(table.reported(1), "37");
    }

    #[test]
    fn stored_slot_applies_its_masks() {
        let (mut table, mut house) = (Table::new(), House::new());
        // Slot 3 base = 592 + 82 = 674; its CHB switch-on LSB mask is at offset 19 + 2 = 21.
        table.set_raw(674 + 21, 64);
        let effects = execute(&mut table, &mut house, &[param(590, 3)]);
        assert_eq!(
            house.state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::On)
        );
        assert_eq!(table.cell(591), 3);
        assert_eq!(table.cell(590), 0);
        assert!(effects.lines[0].starts_with("scenario 3 (je pars en vacances) launched"));
    }

    #[test]
    fn binary_cells_are_lsb_first() {
        let mut table = Table::new();
        table.set_raw(11, 76);
        table.set_raw(920, 1);
        assert_eq!(table.reported(11), "00110010");
        assert_eq!(table.reported(920), "10000000");
        table.set_raw(349, 17);
        assert_eq!(table.reported(349), "17");
    }
}
