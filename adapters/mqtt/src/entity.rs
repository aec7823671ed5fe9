//! The Home Assistant entities of one box: what each is, its discovery config, its state and
//! what its commands become. Pure: no I/O, so every mapping is unit-tested.
//!
//! | key | platform | state from | commands |
//! |---|---|---|---|
//! | each light and dimmer id (33) | `light` | the last state the box acknowledged | `ON` / `OFF` → the ON / OFF mask |
//! | each shutter id and `store_terrasse` (15) | `cover` | the last state the box acknowledged | `OPEN` / `CLOSE` (no stop: the box has none) |
//! | `heating_zj`, `heating_zn`, `heating_zsb1`, `heating_zsb2`, `water_heater`, `watering` | `select` | cells 349–352, 353, 363 | a label → a plain write |
//! | `alarm` | `alarm_control_panel` | cells 920 and 413 | `ARM_AWAY` / `DISARM` → the `_de67f` alarm order |
//! | `leak_washing_machine`, `leak_dishwasher`, `alarm_triggered` | `binary_sensor` | cell 11 (and 920) | — |
//! | `connected` | `binary_sensor` | the box polling | — |
//! | `apparent_power` | `sensor` (VA) | 463 + 256 × 464 | — |
//! | `energy_full_hours`, `energy_off_peak` | `sensor` (kWh) | 465/466, 477/478 | — |
//! | `scenario_2` … `scenario_8` | `button` | — | `PRESS` → Mode A `590 = N` |
//!
//! Labels, modes and cell meanings come from `essensys_core::house` and the device catalog;
//! nothing of the box's protocol is decided here.

use essensys_core::{
    alarm::AlarmCommand,
    catalog::{self, Device, DeviceKind},
    house::{
        self, AlarmState, Alert, Select, ALARM_PROGRESS, ALERTS, APPARENT_POWER, BOX_STATE,
        ENERGY_FULL_HOURS, ENERGY_OFF_PEAK, SCENARIOS, SELECTS,
    },
    order::{DeviceOrder, RawCell, Switch},
    state::DeviceState,
    ClientId, Index, Order, Value,
};
use serde_json::{json, Map, Value as Json};

use crate::topics::Topics;

/// One entity of a box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    /// A light, dimmer, shutter or the awning.
    Device(&'static Device),
    /// A heating zone, the water heater or watering.
    Select(&'static Select),
    /// The alarm panel.
    Alarm,
    /// A leak or the alarm having gone off.
    Alert {
        /// Its key.
        key: &'static str,
        /// Its French name.
        name: &'static str,
        /// Which alert.
        alert: Alert,
        /// Home Assistant's device class.
        class: &'static str,
    },
    /// Whether the box polls the gateway.
    Connected,
    /// The meter's apparent power.
    ApparentPower,
    /// A meter energy counter.
    Energy {
        /// Its key.
        key: &'static str,
        /// Its French name.
        name: &'static str,
        /// Its low and high cells.
        cells: (Index, Index),
    },
    /// A stored scenario to launch.
    Scenario {
        /// Its slot, 2–8.
        slot: u8,
        /// Its key, `scenario_N`.
        key: &'static str,
        /// Its French name.
        name: &'static str,
    },
}

/// What a command from Home Assistant asks the gateway to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// An order, through `Gateway::inject`.
    Order(Order),
    /// An alarm order, through `Gateway::alarm`.
    Alarm(AlarmCommand),
}

const SCENARIO_KEYS: [&str; 7] = [
    "scenario_2",
    "scenario_3",
    "scenario_4",
    "scenario_5",
    "scenario_6",
    "scenario_7",
    "scenario_8",
];

/// Every entity of a box, in a stable order.
pub fn all() -> Vec<Entity> {
    let mut entities: Vec<Entity> = catalog::devices().iter().map(Entity::Device).collect();
    entities.extend(SELECTS.iter().map(Entity::Select));
    entities.push(Entity::Alarm);
    entities.extend([
        Entity::Alert {
            key: "leak_washing_machine",
            name: "Fuite lave-linge",
            alert: Alert::WashingMachineLeak,
            class: "moisture",
        },
        Entity::Alert {
            key: "leak_dishwasher",
            name: "Fuite lave-vaisselle",
            alert: Alert::DishwasherLeak,
            class: "moisture",
        },
        Entity::Alert {
            key: "alarm_triggered",
            name: "Alarme déclenchée",
            alert: Alert::AlarmTriggered,
            class: "safety",
        },
        Entity::Connected,
        Entity::ApparentPower,
        Entity::Energy {
            key: "energy_full_hours",
            name: "Énergie heures pleines",
            cells: ENERGY_FULL_HOURS,
        },
        Entity::Energy {
            key: "energy_off_peak",
            name: "Énergie heures creuses",
            cells: ENERGY_OFF_PEAK,
        },
    ]);
    entities.extend(
        SCENARIOS
            .iter()
            .zip(SCENARIO_KEYS)
            .map(|(&(slot, name), key)| Entity::Scenario { slot, key, name }),
    );
    entities
}

/// The entity of `platform` with `key`, if any.
pub fn find(platform: &str, key: &str) -> Option<Entity> {
    all()
        .into_iter()
        .find(|e| e.platform() == platform && e.key() == key)
}

/// Every reported cell some entity's state depends on.
pub fn reported_cells() -> Vec<Index> {
    let mut cells: Vec<Index> = all().iter().flat_map(Entity::cells).collect();
    cells.sort();
    cells.dedup();
    cells
}

/// Home Assistant's object id part for a box: lower case, `[a-z0-9_]` only.
fn object_part(client: &ClientId) -> String {
    client
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// What the discovery configs of one box share.
#[derive(Clone, Copy, Debug)]
pub struct BoxContext<'a> {
    /// The topics.
    pub topics: &'a Topics,
    /// The box.
    pub client: &'a ClientId,
    /// The firmware protocol version it reported, if any.
    pub version: Option<&'a str>,
}

impl BoxContext<'_> {
    /// The `device` block: one Home Assistant device per box.
    pub fn device(&self) -> Json {
        let mut device = json!({
            "identifiers": [format!("essensys_{}", self.client)],
            "name": format!("Essensys {}", self.client),
            "manufacturer": "Essensys",
            "model": "BP_MQX_ETH",
            "serial_number": self.client.as_str(),
        });
        if let Some(version) = self.version {
            device["sw_version"] = json!(version);
        }
        device
    }

    /// The `origin` block: this gateway.
    pub fn origin() -> Json {
        json!({
            "name": "essensys-gateway-rs",
            "sw_version": env!("CARGO_PKG_VERSION"),
            "support_url": env!("CARGO_PKG_REPOSITORY"),
        })
    }
}

/// A reading of the box, from which states are computed.
#[derive(Clone, Copy, Debug)]
pub struct Reading<'a> {
    /// Cells as reported: `(index, value)` pairs, `None` where never reported.
    pub cells: &'a [(Index, Option<Value>)],
    /// Lights and shutters with their acknowledged state.
    pub devices: &'a [DeviceState],
    /// Whether the box is polling.
    pub online: bool,
}

impl Reading<'_> {
    fn cell(&self, index: Index) -> Option<Value> {
        self.cells
            .iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, v)| *v)
    }
}

/// The payload that tells Home Assistant a state is unknown.
pub const UNKNOWN: &str = "None";

impl Entity {
    /// Its Home Assistant platform.
    pub fn platform(&self) -> &'static str {
        match self {
            Entity::Device(d) if d.kind.is_switched() => "light",
            Entity::Device(_) => "cover",
            Entity::Select(_) => "select",
            Entity::Alarm => "alarm_control_panel",
            Entity::Alert { .. } | Entity::Connected => "binary_sensor",
            Entity::ApparentPower | Entity::Energy { .. } => "sensor",
            Entity::Scenario { .. } => "button",
        }
    }

    /// Its key within the box (a device's catalog id).
    pub fn key(&self) -> &'static str {
        match self {
            Entity::Device(d) => d.id,
            Entity::Select(s) => s.key,
            Entity::Alarm => "alarm",
            Entity::Alert { key, .. }
            | Entity::Energy { key, .. }
            | Entity::Scenario { key, .. } => key,
            Entity::Connected => "connected",
            Entity::ApparentPower => "apparent_power",
        }
    }

    /// Its French name.
    pub fn name(&self) -> &'static str {
        match self {
            Entity::Device(d) => d.label,
            Entity::Select(s) => s.label,
            Entity::Alarm => "Alarme",
            Entity::Alert { name, .. }
            | Entity::Energy { name, .. }
            | Entity::Scenario { name, .. } => name,
            Entity::Connected => "Box connectée",
            Entity::ApparentPower => "Puissance apparente",
        }
    }

    /// The reported cells its state is computed from.
    pub fn cells(&self) -> Vec<Index> {
        match self {
            Entity::Select(s) => vec![s.index],
            Entity::Alarm => vec![BOX_STATE, ALARM_PROGRESS],
            Entity::Alert { .. } => vec![ALERTS, BOX_STATE],
            Entity::ApparentPower => vec![APPARENT_POWER.0, APPARENT_POWER.1],
            Entity::Energy { cells, .. } => vec![cells.0, cells.1],
            Entity::Device(_) | Entity::Connected | Entity::Scenario { .. } => Vec::new(),
        }
    }

    /// Whether it takes commands.
    pub fn commanded(&self) -> bool {
        matches!(
            self,
            Entity::Device(_) | Entity::Select(_) | Entity::Alarm | Entity::Scenario { .. }
        )
    }

    /// Whether it has a state.
    pub fn stateful(&self) -> bool {
        !matches!(self, Entity::Scenario { .. })
    }

    /// `essensys_<client>_<key>`.
    pub fn unique_id(&self, client: &ClientId) -> String {
        format!("essensys_{client}_{}", self.key())
    }

    /// The discovery topic's object id: the unique id in `[a-z0-9_]`.
    pub fn object_id(&self, client: &ClientId) -> String {
        format!("essensys_{}_{}", object_part(client), self.key())
    }

    /// Its retained discovery config.
    pub fn discovery(&self, ctx: &BoxContext<'_>) -> Json {
        let topics = ctx.topics;
        let client = ctx.client;
        let platform = self.platform();
        let key = self.key();
        let mut availability = vec![json!({ "topic": topics.bridge_state() })];
        // "connected" must stay available while the box is silent: that is what it shows
        if !matches!(self, Entity::Connected) {
            availability.push(json!({ "topic": topics.availability(client) }));
        }
        let mut config = Map::new();
        let mut set = |k: &str, v: Json| {
            config.insert(k.to_string(), v);
        };
        set("name", json!(self.name()));
        set("unique_id", json!(self.unique_id(client)));
        set(
            "default_entity_id",
            json!(format!("{platform}.{}", self.object_id(client))),
        );
        set("availability_mode", json!("all"));
        set("availability", Json::Array(availability));
        set("device", ctx.device());
        set("origin", BoxContext::origin());
        set("qos", json!(1));
        if self.stateful() {
            set("state_topic", json!(topics.state(client, platform, key)));
        }
        if self.commanded() {
            set(
                "command_topic",
                json!(topics.command(client, platform, key)),
            );
        }
        match self {
            Entity::Device(d) if d.kind.is_switched() => {
                set("payload_on", json!("ON"));
                set("payload_off", json!("OFF"));
                set(
                    "icon",
                    json!(if d.kind == DeviceKind::Dimmer {
                        "mdi:lightbulb-on-outline"
                    } else {
                        "mdi:lightbulb"
                    }),
                );
            }
            Entity::Device(d) => {
                let class = if d.kind == DeviceKind::Awning {
                    "awning"
                } else {
                    "shutter"
                };
                set("device_class", json!(class));
                set("payload_open", json!("OPEN"));
                set("payload_close", json!("CLOSE"));
                set("payload_stop", Json::Null);
                set("state_open", json!("open"));
                set("state_closed", json!("closed"));
            }
            Entity::Select(s) => {
                set("options", json!(s.labels().collect::<Vec<_>>()));
                let icon = match s.key {
                    "water_heater" => "mdi:water-boiler",
                    "watering" => "mdi:sprinkler",
                    _ => "mdi:radiator",
                };
                set("icon", json!(icon));
            }
            Entity::Alarm => {
                set("supported_features", json!(["arm_away"]));
                set("code_arm_required", json!(false));
                set("code_disarm_required", json!(false));
                set("payload_arm_away", json!("ARM_AWAY"));
                set("payload_disarm", json!("DISARM"));
            }
            Entity::Alert { class, .. } => {
                set("device_class", json!(class));
                set("payload_on", json!("ON"));
                set("payload_off", json!("OFF"));
            }
            Entity::Connected => {
                set("device_class", json!("connectivity"));
                set("entity_category", json!("diagnostic"));
                set("payload_on", json!("ON"));
                set("payload_off", json!("OFF"));
            }
            Entity::ApparentPower => {
                set("device_class", json!("apparent_power"));
                set("unit_of_measurement", json!("VA"));
                set("state_class", json!("measurement"));
            }
            Entity::Energy { .. } => {
                set("device_class", json!("energy"));
                set("unit_of_measurement", json!("kWh"));
                set("state_class", json!("total_increasing"));
            }
            Entity::Scenario { .. } => {
                set("payload_press", json!("PRESS"));
                set("icon", json!("mdi:play-circle-outline"));
            }
        }
        Json::Object(config)
    }

    /// Its state payload from `reading`: `None` when it has no state to publish (a button, or
    /// an alarm never reported), [`UNKNOWN`] when the gateway does not know it.
    pub fn state(&self, reading: &Reading<'_>) -> Option<String> {
        let known = |v: Option<&str>| v.unwrap_or(UNKNOWN).to_string();
        let on_off = |b: Option<bool>| known(b.map(|b| if b { "ON" } else { "OFF" }));
        Some(match self {
            Entity::Device(device) => {
                let state = reading
                    .devices
                    .iter()
                    .find(|s| std::ptr::eq(s.device, *device))
                    .and_then(DeviceState::state);
                let switched = device.kind.is_switched();
                known(state.map(|s| match (s, switched) {
                    (Switch::OnOrOpen, true) => "ON",
                    (Switch::OffOrClose, true) => "OFF",
                    (Switch::OnOrOpen, false) => "open",
                    (Switch::OffOrClose, false) => "closed",
                }))
            }
            Entity::Select(s) => known(reading.cell(s.index).and_then(|v| s.label_of(v))),
            Entity::Alarm => {
                AlarmState::from_cells(reading.cell(BOX_STATE), reading.cell(ALARM_PROGRESS))?
                    .name()
                    .to_string()
            }
            Entity::Alert { alert, .. } => {
                on_off(alert.raised(reading.cell(ALERTS), reading.cell(BOX_STATE)))
            }
            Entity::Connected => on_off(Some(reading.online)),
            Entity::ApparentPower => {
                let (low, high) = APPARENT_POWER;
                known(
                    house::word(reading.cell(low), reading.cell(high))
                        .map(|w| w.to_string())
                        .as_deref(),
                )
            }
            Entity::Energy { cells, .. } => known(
                house::word(reading.cell(cells.0), reading.cell(cells.1))
                    .map(|w| w.to_string())
                    .as_deref(),
            ),
            Entity::Scenario { .. } => return None,
        })
    }

    /// What a command payload asks, or why it cannot be done (in words for the log).
    pub fn command(&self, payload: &str) -> Result<Intent, String> {
        let payload = payload.trim();
        let unexpected = |expected: &str| {
            let shown: String = payload.chars().take(40).collect();
            Err(format!(
                "{} {}: payload {shown:?} is not one of {expected}",
                self.platform(),
                self.key()
            ))
        };
        match self {
            Entity::Device(device) => {
                let (on, off) = if device.kind.is_switched() {
                    ("ON", "OFF")
                } else {
                    ("OPEN", "CLOSE")
                };
                let switch = if payload == on {
                    Switch::OnOrOpen
                } else if payload == off {
                    Switch::OffOrClose
                } else if payload == "STOP" && !device.kind.is_switched() {
                    return Err(format!(
                        "cover {}: the box cannot stop a shutter, only open or close it",
                        device.id
                    ));
                } else {
                    return unexpected(&format!("{on}, {off}"));
                };
                Ok(Intent::Order(Order::Devices(vec![DeviceOrder {
                    device,
                    switch,
                }])))
            }
            Entity::Select(select) => match select.value_of(payload) {
                Some(value) => Ok(Intent::Order(Order::Cells(vec![RawCell {
                    k: u64::from(select.index.get()),
                    v: value.to_string(),
                }]))),
                None => unexpected(&select.labels().collect::<Vec<_>>().join(", ")),
            },
            Entity::Alarm => match payload {
                "ARM_AWAY" => Ok(Intent::Alarm(AlarmCommand::Arm)),
                "DISARM" => Ok(Intent::Alarm(AlarmCommand::Disarm)),
                _ => unexpected("ARM_AWAY, DISARM (the box has one armed mode)"),
            },
            Entity::Scenario { slot, .. } => match payload {
                "PRESS" => Ok(Intent::Order(Order::Launch(*slot))),
                _ => unexpected("PRESS"),
            },
            Entity::Alert { .. }
            | Entity::Connected
            | Entity::ApparentPower
            | Entity::Energy { .. } => {
                Err(format!("{} {} is read-only", self.platform(), self.key()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use essensys_core::{
        ports::Timestamp,
        state::{Acknowledged, DeviceState},
    };

    use super::*;

    fn client() -> ClientId {
        ClientId::new("767179c7a2bff196").expect("id")
    }

    #[test]
    fn the_entities_are_those_the_issue_lists() {
        let entities = all();
        let count = |p: &str| entities.iter().filter(|e| e.platform() == p).count();
        assert_eq!(count("light"), 33);
        assert_eq!(count("cover"), 15);
        assert_eq!(count("select"), 6);
        assert_eq!(count("alarm_control_panel"), 1);
        assert_eq!(count("binary_sensor"), 4);
        assert_eq!(count("sensor"), 3);
        assert_eq!(count("button"), 7);
        let ids: HashSet<(&str, String)> = entities
            .iter()
            .map(|e| (e.platform(), e.unique_id(&client())))
            .collect();
        assert_eq!(ids.len(), entities.len(), "unique per platform");
        assert_eq!(
            find("light", "petite_chambre_3").map(|e| e.unique_id(&client())),
            Some("essensys_767179c7a2bff196_petite_chambre_3".to_string())
        );
    }

    #[test]
    fn off_goes_to_the_off_mask() {
        let lamp = find("light", "petite_chambre_3").expect("lamp");
        let Ok(Intent::Order(order)) = lamp.command("OFF") else {
            panic!("an order");
        };
        let commands = order.commands().expect("valid");
        let params = commands[0].params();
        let set: Vec<(u16, u8)> = params
            .iter()
            .filter(|p| p.value.get() != 0)
            .map(|p| (p.index.get(), p.value.get()))
            .collect();
        assert_eq!(set, vec![(590, 1), (607, 64)]);
        assert!(lamp.command("TOGGLE").is_err());
        let shutter = find("cover", "salon_1").expect("shutter");
        assert!(shutter
            .command("STOP")
            .expect_err("no stop")
            .contains("cannot stop"));
    }

    #[test]
    fn selects_write_values_and_read_labels() {
        let zj = find("select", "heating_zj").expect("zj");
        assert_eq!(
            zj.command("Eco"),
            Ok(Intent::Order(Order::Cells(vec![RawCell {
                k: 349,
                v: "18".into()
            }])))
        );
        let cells = [(Index::new(349).expect("349"), Some(Value(0x11)))];
        let reading = Reading {
            cells: &cells,
            devices: &[],
            online: true,
        };
        assert_eq!(zj.state(&reading).as_deref(), Some("Confort"));
        let none = Reading {
            cells: &[],
            devices: &[],
            online: false,
        };
        assert_eq!(zj.state(&none).as_deref(), Some(UNKNOWN));
        assert_eq!(Entity::Alarm.state(&none), None);
        assert_eq!(Entity::Connected.state(&none).as_deref(), Some("OFF"));
    }

    #[test]
    fn device_states_are_what_the_box_acknowledged() {
        let lamp = catalog::device(DeviceKind::Light, "petite_chambre_3").expect("lamp");
        let awning = catalog::device(DeviceKind::Awning, "store_terrasse").expect("awning");
        let ack = |state| {
            Some(Acknowledged {
                state: Some(state),
                at: Timestamp(1),
            })
        };
        let devices = [
            DeviceState {
                device: lamp,
                acknowledged: ack(Switch::OnOrOpen),
            },
            DeviceState {
                device: awning,
                acknowledged: ack(Switch::OffOrClose),
            },
        ];
        let reading = Reading {
            cells: &[],
            devices: &devices,
            online: true,
        };
        assert_eq!(Entity::Device(lamp).state(&reading).as_deref(), Some("ON"));
        assert_eq!(
            Entity::Device(awning).state(&reading).as_deref(),
            Some("closed")
        );
        let other = catalog::device(DeviceKind::Light, "escalier").expect("stairs");
        assert_eq!(
            Entity::Device(other).state(&reading).as_deref(),
            Some(UNKNOWN)
        );
    }

    #[test]
    fn discovery_has_what_home_assistant_requires() {
        let topics = Topics::new("essensys", "homeassistant");
        let client = client();
        let ctx = BoxContext {
            topics: &topics,
            client: &client,
            version: Some("37"),
        };
        for entity in all() {
            let config = entity.discovery(&ctx);
            assert!(config.get("object_id").is_none());
            assert!(config["default_entity_id"]
                .as_str()
                .is_some_and(|id| id.starts_with(&format!("{}.", entity.platform()))));
            let needs: &[&str] = match entity.platform() {
                "light" | "button" => &["command_topic"],
                "select" => &["command_topic", "options"],
                "alarm_control_panel" => &["state_topic", "command_topic"],
                "sensor" | "binary_sensor" => &["state_topic"],
                _ => &[],
            };
            for key in needs {
                assert!(config.get(*key).is_some(), "{} lacks {key}", entity.key());
            }
            assert_eq!(config["device"]["sw_version"], "37");
        }
        let cover = find("cover", "store_terrasse")
            .expect("awning")
            .discovery(&ctx);
        assert_eq!(cover["device_class"], "awning");
        assert!(cover["payload_stop"].is_null());
    }
}
