//! What the cells the box reports mean for the household: heating modes, the water heater,
//! watering, the alarm, leaks and the meter (`exchange-table.md`). Every adapter that shows or
//! sets these (API, Home Assistant, MCP, dashboard) reads the meaning here, so a mode has one
//! label and one value everywhere.
//!
//! A [`Select`] is a cell with a fixed list of labelled modes: the label of a reported value,
//! and the value to write for a label. Setting one is a plain write through
//! [`crate::Gateway::inject`].

use crate::cell::{Index, Value};

/// A cell with a fixed list of French-labelled modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Select {
    /// A stable key: `heating_zj`, `heating_zn`, `heating_zsb1`, `heating_zsb2`, `water_heater`,
    /// `watering`.
    pub key: &'static str,
    /// Its French label (`Chauffage zone jour`).
    pub label: &'static str,
    /// The cell.
    pub index: Index,
    /// Each mode's label and the value written to set it, in display order.
    pub options: &'static [(&'static str, u8)],
    /// How a reported byte maps to one of `options`' values.
    reading: Reading,
}

/// How a reported byte maps to an option's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// A heating mode byte: mode bits and setpoint nibble, flags ignored.
    HeatingMode,
    /// The byte is the option's value.
    Exact,
}

impl Reading {
    fn canonical(self, byte: u8) -> Option<u8> {
        match self {
            Reading::Exact => Some(byte),
            Reading::HeatingMode => match byte & 0x30 {
                0x00 => Some(1),
                0x20 => Some(32),
                0x10 if byte & 0x0F <= 5 => Some(0x10 | (byte & 0x0F)),
                _ => None,
            },
        }
    }
}

impl Select {
    /// The label of a reported value, `None` when it is none of the modes.
    pub fn label_of(&self, value: Value) -> Option<&'static str> {
        let canonical = self.reading.canonical(value.get())?;
        self.options
            .iter()
            .find(|(_, v)| *v == canonical)
            .map(|(label, _)| *label)
    }

    /// The value that sets the mode labelled `label` (exact label, or the same letters ignoring
    /// case).
    pub fn value_of(&self, label: &str) -> Option<Value> {
        self.options
            .iter()
            .find(|(l, _)| *l == label || l.eq_ignore_ascii_case(label.trim()))
            .map(|(_, v)| Value(*v))
    }

    /// The option labels, in order.
    pub fn labels(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.options.iter().map(|(label, _)| *label)
    }
}

/// Heating zone modes (349–352). Bits 4–5 of the byte are the mode (0 automatic, 1 forced,
/// 2 anticipated), the low nibble the forced setpoint (0 off, 1 comfort, 2 eco, 3 eco+,
/// 4 eco++, 5 frost protection); the values are those the original web UI wrote.
const DAY_NIGHT_MODES: &[(&str, u8)] = &[
    ("Auto", 1),
    ("Confort", 17),
    ("Eco", 18),
    ("Eco+", 19),
    ("Eco++", 20),
    ("Hors-gel", 21),
    ("Arrêt", 16),
    ("Anticipé", 32),
];
/// Bathroom zones have no anticipated mode.
const BATHROOM_MODES: &[(&str, u8)] = DAY_NIGHT_MODES.split_at(7).0;

/// The water heater (353): 0 autonomous (on), 1 off-peak hours only, 2 off.
const WATER_HEATER_MODES: &[(&str, u8)] = &[("Marche", 0), ("Heures creuses", 1), ("Arrêt", 2)];

/// Watering (363): 0 off, 255 automatic (follows the plan), 1–254 forced for that many minutes.
const WATERING_MODES: &[(&str, u8)] = &[
    ("Arrêt", 0),
    ("Automatique", 255),
    ("15 min", 15),
    ("30 min", 30),
    ("1 h", 60),
    ("2 h", 120),
];

/// The six selects: four heating zones, the water heater, watering.
pub const SELECTS: [Select; 6] = [
    Select {
        key: "heating_zj",
        label: "Chauffage zone jour",
        index: Index::known(349),
        options: DAY_NIGHT_MODES,
        reading: Reading::HeatingMode,
    },
    Select {
        key: "heating_zn",
        label: "Chauffage zone nuit",
        index: Index::known(350),
        options: DAY_NIGHT_MODES,
        reading: Reading::HeatingMode,
    },
    Select {
        key: "heating_zsb1",
        label: "Chauffage salle de bain 1",
        index: Index::known(351),
        options: BATHROOM_MODES,
        reading: Reading::HeatingMode,
    },
    Select {
        key: "heating_zsb2",
        label: "Chauffage salle de bain 2",
        index: Index::known(352),
        options: BATHROOM_MODES,
        reading: Reading::HeatingMode,
    },
    Select {
        key: "water_heater",
        label: "Cumulus",
        index: Index::known(353),
        options: WATER_HEATER_MODES,
        reading: Reading::Exact,
    },
    Select {
        key: "watering",
        label: "Arrosage",
        index: Index::known(363),
        options: WATERING_MODES,
        reading: Reading::Exact,
    },
];

/// The select with that key.
pub fn select(key: &str) -> Option<&'static Select> {
    SELECTS.iter().find(|s| s.key == key)
}

/// `Alerte` (11): bit 0 alarm triggered, bit 1 washing-machine leak, bit 2 dishwasher leak.
pub const ALERTS: Index = Index::known(11);
/// `Alarme_AccesADistance` (407): non-zero when the keypad allows remote alarm orders.
pub const ALARM_REMOTE_ACCESS: Index = Index::known(407);
/// `Alarme_SuiviAlarme` (413): 0 start, 1 power fault, 2 intrusion fault, 3 exit delay,
/// 4 armed, 5 entry delay, 6 intrusion.
pub const ALARM_PROGRESS: Index = Index::known(413);
/// `EtatBP1` (920): bit 0 alarm armed, bit 1 alarm triggered.
pub const BOX_STATE: Index = Index::known(920);
/// `Test_ETOR_2` (944): inputs — b0/b1 leaks, b2 rain, b3 wind, b4 button, b5 panel open.
pub const INPUTS: Index = Index::known(944);
/// Apparent power, low byte (463) and high byte (464): PAPP = 463 + 256 × 464 VA.
pub const APPARENT_POWER: (Index, Index) = (Index::known(463), Index::known(464));
/// The meter's global full-hours energy counter, low and high byte (465, 466), in kWh.
pub const ENERGY_FULL_HOURS: (Index, Index) = (Index::known(465), Index::known(466));
/// The meter's global off-peak energy counter, low and high byte (477, 478), in kWh.
pub const ENERGY_OFF_PEAK: (Index, Index) = (Index::known(477), Index::known(478));

/// The alarm as Home Assistant and people see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlarmState {
    /// Not armed.
    Disarmed,
    /// Exit delay running (413 = 3).
    Arming,
    /// Armed (920 bit 0, or 413 = 4).
    ArmedAway,
    /// Entry delay running (413 = 5).
    Pending,
    /// Intrusion (920 bit 1, or 413 = 6).
    Triggered,
}

impl AlarmState {
    /// The state from `EtatBP1` (920) and `Alarme_SuiviAlarme` (413) as reported; `None` when
    /// neither was reported.
    pub fn from_cells(box_state: Option<Value>, progress: Option<Value>) -> Option<Self> {
        if box_state.is_none() && progress.is_none() {
            return None;
        }
        let bits = box_state.map_or(0, Value::get);
        let progress = progress.map(Value::get);
        Some(if bits & 2 != 0 || progress == Some(6) {
            AlarmState::Triggered
        } else if progress == Some(5) {
            AlarmState::Pending
        } else if progress == Some(3) {
            AlarmState::Arming
        } else if bits & 1 != 0 || progress == Some(4) {
            AlarmState::ArmedAway
        } else {
            AlarmState::Disarmed
        })
    }

    /// Home Assistant's name: `disarmed`, `arming`, `armed_away`, `pending`, `triggered`.
    pub const fn name(self) -> &'static str {
        match self {
            AlarmState::Disarmed => "disarmed",
            AlarmState::Arming => "arming",
            AlarmState::ArmedAway => "armed_away",
            AlarmState::Pending => "pending",
            AlarmState::Triggered => "triggered",
        }
    }
}

/// Which alert a bit of `Alerte` (11) raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alert {
    /// Bit 0, also 920 bit 1: the alarm went off.
    AlarmTriggered,
    /// Bit 1: water leak at the washing machine.
    WashingMachineLeak,
    /// Bit 2: water leak at the dishwasher.
    DishwasherLeak,
}

impl Alert {
    /// Whether the alert is raised, from the reported `Alerte` (11) and `EtatBP1` (920); `None`
    /// when the cells it depends on were never reported.
    pub fn raised(self, alerts: Option<Value>, box_state: Option<Value>) -> Option<bool> {
        let bit = |v: Option<Value>, n: u8| v.map(|v| v.get() & (1 << n) != 0);
        match self {
            Alert::AlarmTriggered => match (bit(alerts, 0), bit(box_state, 1)) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
            },
            Alert::WashingMachineLeak => bit(alerts, 1),
            Alert::DishwasherLeak => bit(alerts, 2),
        }
    }
}

/// A 16-bit meter figure from its low and high cells (`low + 256 × high`), if both reported.
pub fn word(low: Option<Value>, high: Option<Value>) -> Option<u16> {
    Some(u16::from(low?.get()) | u16::from(high?.get()) << 8)
}

/// The stored scenario slots 2–8 with their French names (`exchange-table.md`).
pub const SCENARIOS: [(u8, &str); 7] = [
    (2, "Je sors"),
    (3, "Je pars en vacances"),
    (4, "Je rentre"),
    (5, "Je vais me coucher"),
    (6, "Je me lève"),
    (7, "Personnalisé 1"),
    (8, "Personnalisé 2"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u8) -> Option<Value> {
        Some(Value(n))
    }

    #[test]
    fn heating_labels_follow_the_mode_bits() {
        let zj = select("heating_zj").expect("zj");
        assert_eq!(zj.label_of(Value(1)), Some("Auto"));
        assert_eq!(zj.label_of(Value(0)), Some("Auto"));
        assert_eq!(zj.label_of(Value(17)), Some("Confort"));
        assert_eq!(zj.label_of(Value(18 | 0x40)), Some("Eco"));
        assert_eq!(zj.label_of(Value(16)), Some("Arrêt"));
        assert_eq!(zj.label_of(Value(21)), Some("Hors-gel"));
        assert_eq!(zj.label_of(Value(32)), Some("Anticipé"));
        assert_eq!(
            zj.label_of(Value(0x17)),
            None,
            "forced setpoint 7 is no mode"
        );
        let bath = select("heating_zsb1").expect("zsb1");
        assert_eq!(
            bath.label_of(Value(32)),
            None,
            "bathrooms have no anticipated mode"
        );
        assert_eq!(bath.value_of("Anticipé"), None);
        assert_eq!(zj.value_of("Eco+"), Some(Value(19)));
        assert_eq!(zj.value_of("confort"), Some(Value(17)));
        assert_eq!(zj.labels().count(), 8);
        assert_eq!(bath.labels().count(), 7);
    }

    #[test]
    fn every_option_reads_back_as_itself() {
        for select in &SELECTS {
            for (label, value) in select.options {
                assert_eq!(
                    select.label_of(Value(*value)),
                    Some(*label),
                    "{}",
                    select.key
                );
                assert_eq!(select.value_of(label), Some(Value(*value)));
            }
        }
    }

    #[test]
    fn alarm_state_from_the_box_cells() {
        assert_eq!(AlarmState::from_cells(None, None), None);
        assert_eq!(
            AlarmState::from_cells(v(0), v(0)),
            Some(AlarmState::Disarmed)
        );
        assert_eq!(
            AlarmState::from_cells(v(1), None),
            Some(AlarmState::ArmedAway)
        );
        assert_eq!(AlarmState::from_cells(v(0), v(3)), Some(AlarmState::Arming));
        assert_eq!(
            AlarmState::from_cells(v(1), v(5)),
            Some(AlarmState::Pending)
        );
        assert_eq!(
            AlarmState::from_cells(v(3), v(4)),
            Some(AlarmState::Triggered)
        );
        assert_eq!(
            AlarmState::from_cells(None, v(6)),
            Some(AlarmState::Triggered)
        );
    }

    #[test]
    fn alerts_and_meter_words() {
        assert_eq!(Alert::WashingMachineLeak.raised(v(2), None), Some(true));
        assert_eq!(Alert::DishwasherLeak.raised(v(2), None), Some(false));
        assert_eq!(Alert::DishwasherLeak.raised(None, v(2)), None);
        assert_eq!(Alert::AlarmTriggered.raised(None, v(2)), Some(true));
        assert_eq!(Alert::AlarmTriggered.raised(v(0), None), Some(false));
        assert_eq!(word(v(0x34), v(0x12)), Some(0x1234));
        assert_eq!(word(v(1), None), None);
    }
}
