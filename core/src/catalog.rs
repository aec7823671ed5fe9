//! What every cell means and which devices the masks drive, embedded at build time from
//! `data/exchange-table.csv` and `data/devices.csv` (copies of the firmware-derived tables).

use std::fmt;

use crate::cell::Index;

include!(concat!(env!("OUT_DIR"), "/catalog.rs"));

/// What the box lets the server do with a cell (firmware `TableEchangeDroits.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Readable only (`R`).
    Read,
    /// Writable only (`W`): the remote-access key.
    Write,
    /// Readable and writable (`RW`).
    ReadWrite,
    /// Readable and writable, saved in flash (`RWS`).
    ReadWriteSaved,
    /// Neither (`-`).
    None,
}

impl Access {
    /// Whether the box applies a server write to such a cell.
    pub const fn writable(self) -> bool {
        matches!(
            self,
            Access::Write | Access::ReadWrite | Access::ReadWriteSaved
        )
    }

    /// Whether the box reports such a cell's real value (others read as 0).
    pub const fn readable(self) -> bool {
        matches!(
            self,
            Access::Read | Access::ReadWrite | Access::ReadWriteSaved
        )
    }

    /// The firmware's short name: `R`, `W`, `RW`, `RWS` or `-`.
    pub const fn code(self) -> &'static str {
        match self {
            Access::Read => "R",
            Access::Write => "W",
            Access::ReadWrite => "RW",
            Access::ReadWriteSaved => "RWS",
            Access::None => "-",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The firmware's name and the server's access for one cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexInfo {
    /// The firmware's name, e.g. `Chauf_zj_Mode`.
    pub name: &'static str,
    /// What the server may do with it.
    pub access: Access,
}

impl Index {
    /// The catalog entry of this cell.
    pub fn info(self) -> &'static IndexInfo {
        &INDEX_INFO[usize::from(self.0)]
    }
}

/// What kind of output a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// An on/off lamp.
    Light,
    /// A dimmed lamp (switched on/off by the same masks as lights).
    Dimmer,
    /// A roller shutter (open/close masks).
    Shutter,
    /// The terrace awning: open = deploy, close = raise.
    Awning,
}

impl DeviceKind {
    /// The lower-case name used in ids and APIs: `light`, `dimmer`, `shutter`, `awning`.
    pub const fn name(self) -> &'static str {
        match self {
            DeviceKind::Light => "light",
            DeviceKind::Dimmer => "dimmer",
            DeviceKind::Shutter => "shutter",
            DeviceKind::Awning => "awning",
        }
    }

    /// Lights and dimmers are switched on/off; shutters and the awning open/close.
    pub const fn is_switched(self) -> bool {
        matches!(self, DeviceKind::Light | DeviceKind::Dimmer)
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The three output boxes of an installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// `PDV`: living rooms.
    Pdv,
    /// `CHB`: bedrooms.
    Chb,
    /// `PDE`: wet rooms.
    Pde,
}

/// A light, dimmer, shutter or the awning, and the mask bit that drives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its kind.
    pub kind: DeviceKind,
    /// Its id, unique within its kind (`petite_chambre_3`).
    pub id: &'static str,
    /// Its French label (`Petite chambre 3`).
    pub label: &'static str,
    /// The output box it hangs on.
    pub group: Group,
    /// The mask that switches it on (lights) or opens it (shutters; deploys the awning).
    pub on_or_open: Index,
    /// The mask that switches it off (lights) or closes it (shutters; raises the awning).
    pub off_or_close: Index,
    /// Its bit in both masks.
    pub bit: u8,
}

/// Every device of the catalog.
pub fn devices() -> &'static [Device] {
    &DEVICES
}

/// The device of that kind and id, if any.
pub fn device(kind: DeviceKind, id: &str) -> Option<&'static Device> {
    DEVICES.iter().find(|d| d.kind == kind && d.id == id)
}

/// The position of `device` in [`devices`] (a compact key for stores).
pub fn position(device: &Device) -> Option<usize> {
    DEVICES
        .iter()
        .position(|d| d.kind == device.kind && d.id == device.id)
}

impl Device {
    /// `kind.id`, unique in the catalog (`light.salon_1`, `shutter.salon_1`): how stores name a
    /// device.
    pub fn key(&self) -> String {
        format!("{}.{}", self.kind.name(), self.id)
    }
}

/// The device whose [`Device::key`] is `key`.
pub fn device_by_key(key: &str) -> Option<&'static Device> {
    let (kind, id) = key.split_once('.')?;
    DEVICES.iter().find(|d| d.kind.name() == kind && d.id == id)
}

/// The scenario trigger cell (590): 1 runs the server scenario, 2–8 a stored slot.
pub const SCENARIO: Index = Index::known(590);
/// The first cell of the server scenario's light/shutter block (605).
pub const BLOCK_START: Index = Index::known(605);
/// The last cell of the block (622).
pub const BLOCK_END: Index = Index::known(622);
/// Number of cells in the block 605–622.
pub const BLOCK_LEN: usize = 18;
/// Cells the box reports as 8-character LSB-first binary strings: Alerte, EtatBP1, EtatBP2.
pub const BINARY_INDICES: [Index; 3] = [Index::known(11), Index::known(920), Index::known(921)];

/// Whether `index` lies in the light/shutter block 605–622.
pub const fn in_block(index: Index) -> bool {
    index.0 >= BLOCK_START.0 && index.0 <= BLOCK_END.0
}

/// Why the server never writes a cell the box would accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protection {
    /// The box's remote-access key (922–937): writing it silently re-keys the box, whose id and
    /// queue then change.
    RemoteKey,
    /// The alarm's cells (407–415): remote-access consent belongs to the keypad, and arming or
    /// disarming goes through the alarm order.
    Alarm,
}

impl Protection {
    /// What it protects and what to use instead.
    pub const fn reason(self) -> &'static str {
        match self {
            Protection::RemoteKey => {
                "it is part of the box's remote-access key: writing it would silently re-key the \
                 box and orphan its queue; the key is set on the box itself"
            }
            Protection::Alarm => {
                "it belongs to the alarm: remote access is allowed on the keypad, and the alarm is \
                 armed or disarmed with the alarm order (POST /api/v1/alarm, or Home Assistant's \
                 alarm panel)"
            }
        }
    }
}

/// The cells of the remote-access key.
const REMOTE_KEY: (u16, u16) = (922, 937);
/// The alarm's cells.
const ALARM: (u16, u16) = (407, 415);

/// Whether the server must never write `index`, even though the box would accept it.
pub const fn protection(index: Index) -> Option<Protection> {
    let i = index.0;
    if i >= REMOTE_KEY.0 && i <= REMOTE_KEY.1 {
        Some(Protection::RemoteKey)
    } else if i >= ALARM.0 && i <= ALARM.1 {
        Some(Protection::Alarm)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_and_the_alarm_are_protected_and_nothing_else() {
        let protected: Vec<u16> = Index::all()
            .filter(|&i| protection(i).is_some())
            .map(Index::get)
            .collect();
        let expected: Vec<u16> = (407..=415).chain(922..=937).collect();
        assert_eq!(protected, expected);
        assert_eq!(protection(Index(930)), Some(Protection::RemoteKey));
        assert_eq!(protection(Index(407)), Some(Protection::Alarm));
        assert_eq!(protection(Index(406)), None);
        assert_eq!(protection(Index(416)), None);
    }

    #[test]
    fn catalog_matches_the_firmware_table() {
        let at = |i| Index::new(i).map(|i| i.info()).ok();
        assert_eq!(at(0).map(|i| i.name), Some("Version_SoftBP_Embedded"));
        assert_eq!(at(0).map(|i| i.access), Some(Access::Read));
        assert_eq!(at(590).map(|i| i.access), Some(Access::ReadWrite));
        assert_eq!(at(613).map(|i| i.access), Some(Access::ReadWriteSaved));
        assert_eq!(at(922).map(|i| i.access), Some(Access::Write));
        assert_eq!(at(417).map(|i| i.access), Some(Access::None));
        assert_eq!(at(952).map(|i| i.name), Some("AdresseMAC_6"));
        assert_eq!(
            Index::all().filter(|i| i.info().access.writable()).count(),
            953 - 15 - 4
        );
    }

    #[test]
    fn devices_are_unique_and_paired() {
        assert_eq!(devices().len(), 48);
        let lamp = device(DeviceKind::Light, "petite_chambre_3").expect("bedroom 3 lamp");
        assert_eq!(
            (lamp.on_or_open.get(), lamp.off_or_close.get(), lamp.bit),
            (613, 607, 64)
        );
        assert_eq!(lamp.key(), "light.petite_chambre_3");
        assert_eq!(device_by_key("light.petite_chambre_3"), Some(lamp));
        assert_eq!(
            device_by_key("shutter.petite_chambre_3").map(|d| d.kind),
            Some(DeviceKind::Shutter)
        );
        assert_eq!(device_by_key("light"), None);
        assert_eq!(position(lamp).map(|n| &devices()[n]), Some(lamp));
        let awning = device(DeviceKind::Awning, "store_terrasse").expect("awning");
        assert_eq!(
            (awning.on_or_open.get(), awning.off_or_close.get()),
            (622, 619)
        );
        for (n, a) in devices().iter().enumerate() {
            assert!(in_block(a.on_or_open) && in_block(a.off_or_close));
            for b in &devices()[n + 1..] {
                assert!(!(a.kind == b.kind && a.id == b.id), "duplicate {}", a.id);
                let same_bit = a.bit == b.bit
                    && (a.on_or_open == b.on_or_open || a.on_or_open == b.off_or_close);
                assert!(!same_bit, "{} and {} share a mask bit", a.id, b.id);
            }
        }
    }
}
