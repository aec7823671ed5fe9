//! bp-sim's own copy of the facts about the box it acts on: which mask cell and bit drives each
//! light, dimmer, shutter and the awning, and what the server may read and write in each of the
//! 953 cells.
//!
//! It is kept apart from `essensys-core`'s catalog **on purpose**: the sim is the oracle the
//! gateway is tested against, so a wrong fact in core must show up as a disagreement with the
//! sim, not be shared by both.
//!
//! - [`devices`] is written by hand from the mask tables of `exchange-table.md` ("Light and
//!   shutter masks (605–622)"), with the ids and French labels of `data/devices.csv`; a test
//!   checks it row by row against that file.
//! - [`cell`] reads `core/data/exchange-table.csv` (names and access codes, generated from the
//!   firmware's `TableEchange.h` / `TableEchangeDroits.h`), embedded at build time and parsed by
//!   bp-sim's own code on first use. That file is the only source for the access codes; it is the
//!   data, not core's reading of it (core's build script and its `Access` rules are not used).

use std::sync::LazyLock;

pub use essensys_core::catalog::DeviceKind;
use DeviceKind::{Dimmer, Light};

use crate::TABLE_SIZE;

/// A light, dimmer, shutter or the awning, and the mask bit that drives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its kind.
    pub kind: DeviceKind,
    /// Its id, unique within its kind (`petite_chambre_3`).
    pub id: &'static str,
    /// Its French label (`Petite chambre 3`).
    pub label: &'static str,
    /// The output box it hangs on: `PDV`, `CHB` or `PDE`.
    pub group: &'static str,
    /// The mask cell that switches it on (lights, dimmers), opens it (shutters) or deploys it
    /// (the awning): 611–616, 617–619 or 622.
    pub on_or_open: u16,
    /// The mask cell that switches it off, closes it or raises the awning: 605–610, 620–622 or
    /// 619.
    pub off_or_close: u16,
    /// Its bit in both masks.
    pub bit: u8,
}

impl Device {
    /// Whether it is switched on/off (lights and dimmers) rather than opened/closed (shutters
    /// and the awning).
    pub const fn is_switched(&self) -> bool {
        switched(self.kind)
    }
}

/// Lights and dimmers are switched on/off; shutters and the awning open/close.
pub(crate) const fn switched(kind: DeviceKind) -> bool {
    matches!(kind, Light | Dimmer)
}

/// A light (or a dimmer) of `group` on the OFF mask `off` and the ON mask `off + 6`.
const fn lamp(
    kind: DeviceKind,
    id: &'static str,
    label: &'static str,
    group: &'static str,
    off: u16,
    bit: u8,
) -> Device {
    Device {
        kind,
        id,
        label,
        group,
        on_or_open: off + 6,
        off_or_close: off,
        bit,
    }
}

/// A shutter of `group` on the open mask `open` and the close mask `open + 3`.
const fn shutter(
    id: &'static str,
    label: &'static str,
    group: &'static str,
    open: u16,
    bit: u8,
) -> Device {
    Device {
        kind: DeviceKind::Shutter,
        id,
        label,
        group,
        on_or_open: open,
        off_or_close: open + 3,
        bit,
    }
}

/// Every output of the house, in the order of `data/devices.csv`.
///
/// From `exchange-table.md`: the OFF masks are 605–610 and the ON masks 611–616 (same bits),
/// in the order PDV LSB, PDV MSB, CHB LSB, CHB MSB, PDE LSB, PDE MSB; shutters open with
/// 617–619 and close with 620–622 (PDV, CHB, PDE); the awning is bit 8 of 622 (deploy) and of
/// 619 (raise), the reverse of a PDE shutter.
static DEVICES: [Device; 48] = [
    // 605 / 611: PDV LSB.
    lamp(Light, "entree", "Entrée", "PDV", 605, 1),
    lamp(Light, "salon_1", "Salon lampe 1", "PDV", 605, 2),
    lamp(Light, "salon_2", "Salon lampe 2", "PDV", 605, 4),
    lamp(Light, "dressing_1", "Dressing 1", "PDV", 605, 8),
    lamp(Light, "dressing_2", "Dressing 2", "PDV", 605, 16),
    // 606 / 612: PDV MSB.
    lamp(Dimmer, "bureau", "Bureau (variateur)", "PDV", 606, 32),
    lamp(
        Dimmer,
        "salle_a_manger",
        "Salle à manger (variateur)",
        "PDV",
        606,
        64,
    ),
    lamp(Dimmer, "salon", "Salon (variateur)", "PDV", 606, 128),
    // 607 / 613: CHB LSB.
    lamp(Light, "escalier", "Escalier", "CHB", 607, 1),
    lamp(
        Light,
        "grande_chambre_1",
        "Grande chambre lampe 1",
        "CHB",
        607,
        2,
    ),
    lamp(
        Light,
        "grande_chambre_2",
        "Grande chambre lampe 2",
        "CHB",
        607,
        4,
    ),
    lamp(
        Light,
        "petite_chambre_1_1",
        "Petite chambre 1 lampe 1",
        "CHB",
        607,
        8,
    ),
    lamp(
        Light,
        "petite_chambre_1_2",
        "Petite chambre 1 lampe 2",
        "CHB",
        607,
        16,
    ),
    lamp(
        Light,
        "petite_chambre_2",
        "Petite chambre 2",
        "CHB",
        607,
        32,
    ),
    lamp(
        Light,
        "petite_chambre_3",
        "Petite chambre 3",
        "CHB",
        607,
        64,
    ),
    // 608 / 614: CHB MSB.
    lamp(
        Dimmer,
        "petite_chambre_3_var",
        "Petite chambre 3 (variateur)",
        "CHB",
        608,
        16,
    ),
    lamp(
        Dimmer,
        "petite_chambre_2_var",
        "Petite chambre 2 (variateur)",
        "CHB",
        608,
        32,
    ),
    lamp(
        Dimmer,
        "petite_chambre_1_var",
        "Petite chambre 1 (variateur)",
        "CHB",
        608,
        64,
    ),
    lamp(
        Dimmer,
        "grande_chambre_var",
        "Grande chambre (variateur)",
        "CHB",
        608,
        128,
    ),
    // 609 / 615: PDE LSB.
    lamp(Light, "cuisine_1", "Cuisine lampe 1", "PDE", 609, 1),
    lamp(Light, "cuisine_2", "Cuisine lampe 2", "PDE", 609, 2),
    lamp(Light, "salle_de_bain_1", "Salle de bain 1", "PDE", 609, 4),
    lamp(
        Light,
        "salle_de_bain_2_1",
        "Salle de bain 2 lampe 1",
        "PDE",
        609,
        8,
    ),
    lamp(
        Light,
        "salle_de_bain_2_2",
        "Salle de bain 2 lampe 2",
        "PDE",
        609,
        16,
    ),
    lamp(Light, "wc_1", "WC 1", "PDE", 609, 32),
    lamp(Light, "wc_2", "WC 2", "PDE", 609, 64),
    lamp(Light, "service", "Service", "PDE", 609, 128),
    // 610 / 616: PDE MSB.
    lamp(Light, "degagement_1", "Dégagement 1", "PDE", 610, 1),
    lamp(Light, "degagement_2", "Dégagement 2", "PDE", 610, 2),
    lamp(Light, "terrasse", "Terrasse", "PDE", 610, 4),
    lamp(Light, "annexe_1", "Annexe lampe 1", "PDE", 610, 8),
    lamp(Light, "annexe_2", "Annexe lampe 2", "PDE", 610, 16),
    lamp(
        Dimmer,
        "salle_de_bain_1_var",
        "Salle de bain 1 (variateur)",
        "PDE",
        610,
        128,
    ),
    // 617 / 620: PDV shutters.
    shutter("salon_1", "Volet salon 1", "PDV", 617, 1),
    shutter("salon_2", "Volet salon 2", "PDV", 617, 2),
    shutter("salon_3", "Volet salon 3", "PDV", 617, 4),
    shutter("salle_a_manger_1", "Volet salle à manger 1", "PDV", 617, 8),
    shutter("salle_a_manger_2", "Volet salle à manger 2", "PDV", 617, 16),
    shutter("bureau", "Volet bureau", "PDV", 617, 32),
    // 618 / 621: CHB shutters.
    shutter("grande_chambre_1", "Volet grande chambre 1", "CHB", 618, 1),
    shutter("grande_chambre_2", "Volet grande chambre 2", "CHB", 618, 2),
    shutter("petite_chambre_1", "Volet petite chambre 1", "CHB", 618, 4),
    shutter("petite_chambre_2", "Volet petite chambre 2", "CHB", 618, 8),
    shutter("petite_chambre_3", "Volet petite chambre 3", "CHB", 618, 16),
    // 619 / 622: PDE shutters.
    shutter("cuisine_1", "Volet cuisine 1", "PDE", 619, 1),
    shutter("cuisine_2", "Volet cuisine 2", "PDE", 619, 2),
    shutter("salle_de_bain_1", "Volet salle de bain 1", "PDE", 619, 4),
    // The awning: 622 deploys (open), 619 raises (close).
    Device {
        kind: DeviceKind::Awning,
        id: "store_terrasse",
        label: "Store terrasse",
        group: "PDE",
        on_or_open: 622,
        off_or_close: 619,
        bit: 8,
    },
];

/// Every device of the house, in the order of `data/devices.csv`.
pub fn devices() -> &'static [Device] {
    &DEVICES
}

/// What the box lets the server do with one cell, and the cell's firmware name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellInfo {
    /// The firmware's name, e.g. `Chauf_zj_Mode`.
    pub name: &'static str,
    /// The access code of `exchange-table.csv`: `R`, `W`, `RW`, `RWS` or `-`.
    pub access: &'static str,
}

impl CellInfo {
    /// Whether the box reports the cell's value (`R`, `RW`, `RWS`); others read as 0.
    pub fn readable(&self) -> bool {
        matches!(self.access, "R" | "RW" | "RWS")
    }

    /// Whether the box applies a server write to it (`W`, `RW`, `RWS`); others are ignored
    /// (and the action still acked).
    pub fn writable(&self) -> bool {
        matches!(self.access, "W" | "RW" | "RWS")
    }
}

/// The exchange table's names and access codes, as embedded.
const EXCHANGE_TABLE_CSV: &str = include_str!("../../../core/data/exchange-table.csv");

/// The 953 cells, parsed on first use.
static CELLS: LazyLock<Vec<CellInfo>> =
    LazyLock::new(|| parse_exchange_table(EXCHANGE_TABLE_CSV).unwrap_or_else(|e| panic!("{e}")));

/// The name and access of cell `raw`, or `None` at 953 and above.
pub fn cell(raw: u16) -> Option<&'static CellInfo> {
    CELLS.get(usize::from(raw))
}

/// Parses `index,name,access` rows: a header, then indices 0–952 in order, each with one of the
/// five access codes.
fn parse_exchange_table(text: &'static str) -> Result<Vec<CellInfo>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    match lines.next() {
        Some(header) if header.trim() == "index,name,access" => {}
        other => return Err(format!("exchange-table.csv: unexpected header {other:?}")),
    }
    let mut cells = Vec::with_capacity(usize::from(TABLE_SIZE));
    for (expected, line) in lines.enumerate() {
        let columns: Vec<&'static str> = line.split(',').map(str::trim).collect();
        let [index, name, access] = columns[..] else {
            return Err(format!(
                "exchange-table.csv: row {line:?} does not have 3 columns"
            ));
        };
        if index.parse::<usize>() != Ok(expected) {
            return Err(format!(
                "exchange-table.csv: row {line:?} should be index {expected}"
            ));
        }
        if !matches!(access, "R" | "W" | "RW" | "RWS" | "-") {
            return Err(format!(
                "exchange-table.csv: index {index} has unknown access {access:?}"
            ));
        }
        cells.push(CellInfo { name, access });
    }
    if cells.len() != usize::from(TABLE_SIZE) {
        return Err(format!(
            "exchange-table.csv lists {} cells, not {TABLE_SIZE}",
            cells.len()
        ));
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file the hand-written device table is checked against.
    const DEVICES_CSV: &str = include_str!("../../../core/data/devices.csv");

    #[test]
    fn the_device_table_equals_devices_csv_row_by_row() {
        let mut lines = DEVICES_CSV.lines().filter(|l| !l.trim().is_empty());
        assert_eq!(
            lines.next(),
            Some("kind,id,label_fr,group,on_or_open_index,off_or_close_index,bit")
        );
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), devices().len(), "one device per CSV row");
        for (row, device) in rows.iter().zip(devices()) {
            let kind = match device.kind {
                DeviceKind::Light => "light",
                DeviceKind::Dimmer => "dimmer",
                DeviceKind::Shutter => "shutter",
                DeviceKind::Awning => "awning",
            };
            let ours = format!(
                "{kind},{},{},{},{},{},{}",
                device.id,
                device.label,
                device.group,
                device.on_or_open,
                device.off_or_close,
                device.bit
            );
            assert_eq!(row.trim(), ours);
        }
    }

    #[test]
    fn every_device_has_one_bit_on_a_mask_pair_of_the_block() {
        let mut seen = std::collections::HashSet::new();
        for device in devices() {
            assert_eq!(device.bit.count_ones(), 1, "{}", device.id);
            let pair = (device.on_or_open, device.off_or_close);
            let expected = match device.kind {
                DeviceKind::Light | DeviceKind::Dimmer => {
                    (611..=616).contains(&pair.0) && pair.1 == pair.0 - 6
                }
                DeviceKind::Shutter => (617..=619).contains(&pair.0) && pair.1 == pair.0 + 3,
                DeviceKind::Awning => pair == (622, 619),
            };
            assert!(expected, "{} {}: {pair:?}", device.kind, device.id);
            // No two devices share a bit of the same mask.
            assert!(
                seen.insert((device.on_or_open, device.bit)),
                "{}",
                device.id
            );
            assert!(
                seen.insert((device.off_or_close, device.bit)),
                "{}",
                device.id
            );
        }
    }

    #[test]
    fn the_documented_examples_hold() {
        // exchange-table.md: stairs on {613:"1"}, off {607:"1"}; bedroom 3 bedside lamp on
        // {613:"64"}; awning deploy {622:"8"}, raise {619:"8"}.
        let find = |kind: DeviceKind, id: &str| {
            devices()
                .iter()
                .find(|d| d.kind == kind && d.id == id)
                .copied()
                .unwrap_or_else(|| panic!("{kind} {id} missing"))
        };
        let stairs = find(Light, "escalier");
        assert_eq!(
            (stairs.on_or_open, stairs.off_or_close, stairs.bit),
            (613, 607, 1)
        );
        let bedroom_3 = find(Light, "petite_chambre_3");
        assert_eq!((bedroom_3.on_or_open, bedroom_3.bit), (613, 64));
        let awning = find(DeviceKind::Awning, "store_terrasse");
        assert_eq!(
            (awning.on_or_open, awning.off_or_close, awning.bit),
            (622, 619, 8)
        );
        assert!(!awning.is_switched());
        assert!(find(Dimmer, "salon").is_switched());
    }

    #[test]
    fn the_exchange_table_parses_with_the_documented_access() {
        assert_eq!(CELLS.len(), 953);
        assert!(cell(953).is_none());
        let access = |raw: u16| cell(raw).map(|c| c.access);
        // exchange-table.md: 1 and 4 are the versions (read only), the key 922–937 is
        // write-only, 590 and the block 605–622 are written by the server.
        assert_eq!(access(1), Some("R"));
        assert_eq!(access(4), Some("R"));
        for raw in 922..=937 {
            let info = cell(raw).expect("key cell");
            assert!(info.writable() && !info.readable(), "{raw}: {info:?}");
            assert!(info.name.starts_with("Cle_Acces_Distance"), "{info:?}");
        }
        for raw in (605..=622).chain([590, 349, 353, 363]) {
            let info = cell(raw).expect("cell");
            assert!(info.writable() && info.readable(), "{raw}: {info:?}");
        }
        assert_eq!(cell(11).map(|c| c.name), Some("Alerte"));
        assert_eq!(cell(920).map(|c| c.name), Some("EtatBP1"));
        assert_eq!(cell(407).map(|c| c.name), Some("Alarme_AccesADistance"));
    }

    #[test]
    fn a_malformed_table_is_refused() {
        assert!(parse_exchange_table("index,name,access\n0,A,R\n").is_err());
        assert!(parse_exchange_table("index,name,access\n1,A,R\n").is_err());
        assert!(parse_exchange_table("index,name,access\n0,A,X\n").is_err());
        assert!(parse_exchange_table("idx,name\n").is_err());
    }

    /// The sim's copy must agree with core's: if this fails, one of the two holds a wrong fact
    /// (the two tests above say which agrees with the data files).
    #[test]
    fn core_agrees_with_the_sim() {
        let core: Vec<String> = essensys_core::catalog::devices()
            .iter()
            .map(|d| {
                format!(
                    "{} {} {} {} {} {}",
                    d.kind,
                    d.id,
                    d.label,
                    d.on_or_open.get(),
                    d.off_or_close.get(),
                    d.bit
                )
            })
            .collect();
        let ours: Vec<String> = devices()
            .iter()
            .map(|d| {
                format!(
                    "{} {} {} {} {} {}",
                    d.kind, d.id, d.label, d.on_or_open, d.off_or_close, d.bit
                )
            })
            .collect();
        assert_eq!(core, ours);
        for index in essensys_core::Index::all() {
            let theirs = index.info();
            let ours = cell(index.get()).expect("cell below 953");
            assert_eq!(theirs.name, ours.name, "cell {index}");
            assert_eq!(theirs.access.code(), ours.access, "cell {index}");
            assert_eq!(theirs.access.readable(), ours.readable(), "cell {index}");
            assert_eq!(theirs.access.writable(), ours.writable(), "cell {index}");
        }
    }
}
