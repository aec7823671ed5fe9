//! Home Assistant over MQTT, end to end: a private mosquitto (password required) on a free port,
//! the whole backend with its bridge, bp-sim as the box, and a paho client playing Home
//! Assistant (it subscribes to discovery and states and publishes commands, as HA does).

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use essensys_bp_sim::{house::DeviceState, BoxSim, SimConfig};
use essensys_core::{alarm, catalog::DeviceKind, matricule::Key, Index, Value};
use essensys_testkit::{free_port, wait_for_port, Mosquitto};
use paho_mqtt as paho;
use serde_json::Value as Json;

mod common;
use common::api;

const KEY: &str = "12345678901234567890123456789012";
const WITHIN: Duration = Duration::from_secs(15);

fn client_id() -> String {
    Key::parse(KEY).expect("key").client_id().to_string()
}

/// A client id no other test client uses (the broker disconnects a client when another
/// connects with the same id).
fn unique_client_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("ha-test-{}-{n}", std::process::id())
}

/// A paho client playing Home Assistant: everything under `homeassistant/#` and `essensys/#`,
/// in arrival order.
struct Ha {
    client: paho::AsyncClient,
    log: Arc<Mutex<Vec<(String, String)>>>,
}

impl Ha {
    async fn connect(broker: &Mosquitto) -> Self {
        let create = paho::CreateOptionsBuilder::new()
            .server_uri(format!("tcp://127.0.0.1:{}", broker.port()))
            .client_id(unique_client_id())
            .finalize();
        let mut client = paho::AsyncClient::new(create).expect("client");
        let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let sink = log.clone();
        let stream = client.get_stream(None);
        tokio::spawn(async move {
            while let Ok(message) = stream.recv().await {
                if let Some(m) = message {
                    let entry = (m.topic().to_string(), m.payload_str().into_owned());
                    sink.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
                }
            }
        });
        let options = paho::ConnectOptionsBuilder::new_v3()
            .clean_session(true)
            .user_name(Mosquitto::USER)
            .password(Mosquitto::PASSWORD)
            .finalize();
        client.connect(options).await.expect("HA connects");
        client
            .subscribe_many(&["homeassistant/#", "essensys/#"], &[1, 1])
            .await
            .expect("subscribe");
        Self { client, log }
    }

    fn entries(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn clear(&self) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The payloads published on `topic`, in order.
    fn history(&self, topic: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, p)| p)
            .collect()
    }

    fn last(&self, topic: &str) -> Option<String> {
        self.history(topic).pop()
    }

    /// Waits until the last payload on `topic` is `payload`.
    async fn wait_for(&self, topic: &str, payload: &str) {
        let start = Instant::now();
        while self.last(topic).as_deref() != Some(payload) {
            assert!(
                start.elapsed() < WITHIN,
                "{topic} never became {payload:?}; it is {:?}",
                self.last(topic)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The discovery configs received so far for the box, by topic (latest of each).
    fn configs(&self) -> HashMap<String, Json> {
        let marker = format!("/essensys_{}_", client_id());
        self.entries()
            .into_iter()
            .filter(|(t, p)| {
                t.starts_with("homeassistant/") && t.contains(&marker) && !p.is_empty()
            })
            .map(|(t, p)| {
                let json =
                    serde_json::from_str(&p).unwrap_or_else(|e| panic!("{t}: not JSON ({e}): {p}"));
                (t, json)
            })
            .collect()
    }

    /// Waits until all 69 discovery configs of the box have arrived, carrying the firmware
    /// version the box reported (it is announced again once its first `mystatus` told it).
    async fn wait_for_discovery(&self) -> HashMap<String, Json> {
        let start = Instant::now();
        loop {
            let configs = self.configs();
            let versioned = configs
                .values()
                .filter(|c| c["device"]["sw_version"].is_string())
                .count();
            if versioned >= 69 {
                return configs;
            }
            assert!(
                start.elapsed() < WITHIN,
                "only {} discovery configs arrived ({versioned} with the version; {} messages)",
                configs.len(),
                self.entries().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.client
            .publish(paho::Message::new(topic, payload, 1))
            .await
            .expect("publish");
    }

    async fn command(&self, platform: &str, key: &str, payload: &str) {
        let topic = format!("essensys/{}/{platform}/{key}/set", client_id());
        self.publish(&topic, payload).await;
    }
}

fn state_topic(platform: &str, key: &str) -> String {
    format!("essensys/{}/{platform}/{key}/state", client_id())
}

fn sim(addr: SocketAddr) -> BoxSim {
    BoxSim::new(SimConfig {
        key: Some(Key::parse(KEY).expect("key")),
        step_gap: Duration::ZERO,
        ..SimConfig::new(addr)
    })
}

async fn cycle(sim: &mut BoxSim) -> essensys_bp_sim::CycleReport {
    sim.cycle()
        .await
        .unwrap_or_else(|e| panic!("cycle failed as the firmware would see it: {e}"))
}

/// The backend binary, stopped (SIGKILL) when dropped.
struct Backend(std::process::Child);

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the backend binary on a free port with `args`; returns it once it listens. A separate
/// process, as it runs at home (and so that its MQTT client shares nothing with the test's).
fn run_backend(args: &[&str]) -> (Backend, SocketAddr) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_essensys-backend"))
        .args(["--listen", &listen])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("backend starts");
    let backend = Backend(child);
    assert!(wait_for_port(port, WITHIN), "backend did not listen");
    (backend, listen.parse().expect("addr"))
}

/// A broker, the backend bridged to it, a box that has cycled once, and Home Assistant once
/// discovery arrived.
async fn house(extra: &[&str]) -> (Mosquitto, Backend, SocketAddr, BoxSim, Ha) {
    let broker = Mosquitto::start();
    let url = broker.url();
    let mut args = vec!["--mqtt-url", url.as_str(), "--box-key", KEY];
    args.extend_from_slice(extra);
    let (backend, addr) = run_backend(&args);
    let ha = Ha::connect(&broker).await;
    ha.wait_for("essensys/bridge/state", "online").await;
    let mut sim = sim(addr);
    cycle(&mut sim).await;
    ha.wait_for_discovery().await;
    (broker, backend, addr, sim, ha)
}

/// The box's pending actions, as `GET /api/admin/actions` shows them.
async fn actions(addr: SocketAddr) -> String {
    let path = format!("/api/admin/actions?client={}", client_id());
    let (status, body) = api(addr, "GET", &path, "").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the box has a pending action that writes `index` = `value`.
async fn pending_param(addr: SocketAddr, index: u16, value: u8) {
    let wanted = format!(r#"{{"k":{index},"v":"{value}"}}"#);
    let start = Instant::now();
    loop {
        let body = actions(addr).await;
        if body.contains(&wanted) {
            return;
        }
        assert!(start.elapsed() < WITHIN, "no pending {wanted}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Cycles the box until `done` holds (at most 10 cycles).
async fn cycle_until(sim: &mut BoxSim, mut done: impl FnMut(&BoxSim) -> bool) {
    for _ in 0..10 {
        cycle(sim).await;
        if done(sim) {
            return;
        }
    }
    panic!("not reached after 10 cycles");
}

#[tokio::test]
async fn discovery_announces_every_entity_with_what_home_assistant_requires() {
    let (_broker, _backend, _addr, _sim, ha) = house(&[]).await;
    let configs = ha.wait_for_discovery().await;
    let client = client_id();
    let mut per_platform: HashMap<String, usize> = HashMap::new();
    let mut unique: HashSet<(String, String)> = HashSet::new();
    for (topic, config) in &configs {
        let platform = topic.split('/').nth(1).expect("platform").to_string();
        *per_platform.entry(platform.clone()).or_default() += 1;
        let unique_id = config["unique_id"].as_str().expect("unique_id").to_string();
        assert!(
            unique_id.starts_with(&format!("essensys_{client}_")),
            "{unique_id}"
        );
        assert!(
            unique.insert((platform.clone(), unique_id.clone())),
            "duplicate {unique_id}"
        );
        assert!(
            config.get("object_id").is_none(),
            "{topic}: object_id is gone from HA"
        );
        let entity_id = config["default_entity_id"]
            .as_str()
            .expect("default_entity_id");
        assert!(
            entity_id.starts_with(&format!("{platform}.")),
            "{entity_id}"
        );
        let availability: Vec<&str> = config["availability"]
            .as_array()
            .expect("availability")
            .iter()
            .filter_map(|a| a["topic"].as_str())
            .collect();
        assert!(availability.contains(&"essensys/bridge/state"), "{topic}");
        if !unique_id.ends_with("_connected") {
            assert!(
                availability.contains(&format!("essensys/{client}/availability").as_str()),
                "{topic}"
            );
        }
        assert_eq!(config["availability_mode"], "all");
        assert_eq!(
            config["device"]["identifiers"][0],
            format!("essensys_{client}")
        );
        assert_eq!(config["device"]["model"], "BP_MQX_ETH");
        assert_eq!(
            config["device"]["sw_version"], "37",
            "the version the box reported"
        );
        assert_eq!(config["origin"]["name"], "essensys-gateway-rs");
        let required: &[&str] = match platform.as_str() {
            "light" | "button" => &["command_topic"],
            "select" => &["command_topic", "options", "state_topic"],
            "alarm_control_panel" => &["state_topic", "command_topic"],
            "sensor" | "binary_sensor" => &["state_topic"],
            "cover" => &["command_topic", "state_topic"],
            other => panic!("unexpected platform {other}"),
        };
        for key in required {
            assert!(config.get(*key).is_some(), "{topic} lacks {key}");
        }
    }
    let count = |p: &str| per_platform.get(p).copied().unwrap_or(0);
    assert_eq!(
        [
            count("light"),
            count("cover"),
            count("select"),
            count("alarm_control_panel"),
            count("binary_sensor"),
            count("sensor"),
            count("button")
        ],
        [33, 15, 6, 1, 4, 3, 7]
    );
    let lamp = &configs[&format!("homeassistant/light/essensys_{client}_petite_chambre_3/config")];
    assert_eq!(lamp["name"], "Petite chambre 3");
    assert_eq!(
        (lamp["payload_on"].as_str(), lamp["payload_off"].as_str()),
        (Some("ON"), Some("OFF"))
    );
    let awning = &configs[&format!("homeassistant/cover/essensys_{client}_store_terrasse/config")];
    assert_eq!(awning["device_class"], "awning");
    assert!(
        awning["payload_stop"].is_null(),
        "no stop button: the box has none"
    );
    let zj = &configs[&format!("homeassistant/select/essensys_{client}_heating_zj/config")];
    assert_eq!(
        zj["options"],
        serde_json::json!([
            "Auto",
            "Confort",
            "Eco",
            "Eco+",
            "Eco++",
            "Hors-gel",
            "Arrêt",
            "Anticipé"
        ])
    );
    let bath = &configs[&format!("homeassistant/select/essensys_{client}_heating_zsb1/config")];
    assert_eq!(
        bath["options"].as_array().map(Vec::len),
        Some(7),
        "no Anticipé in bathrooms"
    );
    let alarm =
        &configs[&format!("homeassistant/alarm_control_panel/essensys_{client}_alarm/config")];
    assert_eq!(alarm["code_arm_required"], false);
    assert_eq!(alarm["supported_features"], serde_json::json!(["arm_away"]));
    let power = &configs[&format!("homeassistant/sensor/essensys_{client}_apparent_power/config")];
    assert_eq!(
        (
            power["device_class"].as_str(),
            power["unit_of_measurement"].as_str()
        ),
        (Some("apparent_power"), Some("VA"))
    );
    let leak =
        &configs[&format!("homeassistant/binary_sensor/essensys_{client}_leak_dishwasher/config")];
    assert_eq!(leak["device_class"], "moisture");
    assert_eq!(
        ha.last(&format!("essensys/{client}/availability"))
            .as_deref(),
        Some("online")
    );
    assert_eq!(
        ha.last(&state_topic("binary_sensor", "connected"))
            .as_deref(),
        Some("ON")
    );
    assert_eq!(
        ha.last(&state_topic("light", "petite_chambre_3"))
            .as_deref(),
        Some("None"),
        "unknown until acknowledged"
    );
}

#[tokio::test]
async fn a_light_state_follows_the_box_acknowledgement_and_off_uses_the_off_mask() {
    let (_broker, _backend, addr, mut sim, ha) = house(&[]).await;
    let topic = state_topic("light", "petite_chambre_3");
    ha.command("light", "petite_chambre_3", "ON").await;
    pending_param(addr, 613, 64).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        ha.last(&topic).as_deref(),
        Some("None"),
        "no state before the box acknowledged"
    );
    let report = cycle(&mut sim).await;
    assert!(report.actions.iter().all(|a| a.acked));
    assert_eq!(
        sim.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::On)
    );
    ha.wait_for(&topic, "ON").await;

    ha.command("light", "petite_chambre_3", "OFF").await;
    pending_param(addr, 607, 64).await;
    let pending = actions(addr).await;
    assert!(
        pending.contains(r#"{"k":613,"v":"0"}"#),
        "OFF never touches the ON mask: {pending}"
    );
    assert_eq!(
        ha.last(&topic).as_deref(),
        Some("ON"),
        "still on until acknowledged"
    );
    cycle(&mut sim).await;
    assert_eq!(
        sim.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::Off)
    );
    ha.wait_for(&topic, "OFF").await;
    let mut history = ha.history(&topic);
    history.dedup(); // "None" comes again when the box is re-announced with its version
    assert_eq!(history, ["None", "ON", "OFF"]);

    // a shutter, and the cover's own words
    ha.command("cover", "salon_1", "OPEN").await;
    pending_param(addr, 617, 1).await;
    cycle(&mut sim).await;
    ha.wait_for(&state_topic("cover", "salon_1"), "open").await;
    ha.command("cover", "salon_1", "STOP").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pending = actions(addr).await;
    assert!(
        pending.contains(r#""actions":[]"#),
        "STOP queues nothing: {pending}"
    );
}

#[tokio::test]
async fn reported_modes_selects_and_scenario_buttons() {
    let (_broker, _backend, addr, mut sim, ha) = house(&[]).await;
    let zj = state_topic("select", "heating_zj");
    sim.set_cell(Index::new(349).expect("349"), Value(18));
    sim.set_cell(Index::new(463).expect("463"), Value(208));
    sim.set_cell(Index::new(464).expect("464"), Value(7));
    sim.set_cell(Index::new(11).expect("11"), Value(4));
    cycle_until(&mut sim, |_| ha.last(&zj).as_deref() == Some("Eco")).await;
    ha.wait_for(&zj, "Eco").await;
    cycle_until(&mut sim, |_| {
        ha.last(&state_topic("sensor", "apparent_power")).as_deref() == Some("2000")
    })
    .await;
    ha.wait_for(&state_topic("binary_sensor", "leak_dishwasher"), "ON")
        .await;
    ha.wait_for(&state_topic("binary_sensor", "leak_washing_machine"), "OFF")
        .await;

    ha.command("select", "heating_zj", "Confort").await;
    pending_param(addr, 349, 17).await;
    cycle_until(&mut sim, |sim| {
        sim.table().get(Index::new(349).expect("349")) == Value(17)
    })
    .await;
    cycle_until(&mut sim, |_| ha.last(&zj).as_deref() == Some("Confort")).await;

    ha.command("button", "scenario_3", "PRESS").await;
    pending_param(addr, 590, 3).await;
}

#[tokio::test]
async fn arm_away_reaches_the_box_as_a_de67f_it_decrypts() {
    let (_broker, _backend, addr, mut sim, ha) = house(&[]).await;
    sim.set_cell(Index::new(407).expect("407"), Value(1)); // remote access allowed at the keypad
    for _ in 0..4 {
        cycle(&mut sim).await; // until 407 = 1 has been reported (the watch list rotates)
    }
    let (_, alarm) = api(addr, "GET", "/api/v1/alarm", "").await;
    assert!(alarm.contains(r#""remote_access":true"#), "{alarm}");
    ha.wait_for(&state_topic("alarm_control_panel", "alarm"), "disarmed")
        .await;
    ha.command("alarm_control_panel", "alarm", "ARM_AWAY").await;
    let start = Instant::now();
    loop {
        let (_, alarm) = api(addr, "GET", "/api/v1/alarm", "").await;
        if alarm.contains(r#""command":"arm""#) {
            break;
        }
        assert!(start.elapsed() < WITHIN, "no pending alarm order: {alarm}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = cycle(&mut sim).await;
    let outcome = report.alarm.expect("the box got a _de67f");
    let text = outcome.plaintext.expect("decrypted with the box's key");
    assert!(text.starts_with("ALARMEON_"), "{text}");
    let key = Key::parse(KEY).expect("key");
    assert_eq!(
        alarm::decrypt_obl(&key, &outcome.order.obl).as_deref(),
        Ok(text.as_str())
    );
    assert!(outcome.allowed && outcome.acked);
    cycle_until(&mut sim, |_| {
        ha.last(&state_topic("alarm_control_panel", "alarm"))
            .as_deref()
            == Some("armed_away")
    })
    .await;
    let (_, alarm) = api(addr, "GET", "/api/v1/alarm", "").await;
    assert!(alarm.contains(r#""pending":null"#), "acked: {alarm}");
}

#[tokio::test]
async fn home_assistant_birth_brings_discovery_and_states_again() {
    let (_broker, _backend, _addr, _sim, ha) = house(&[]).await;
    ha.clear();
    ha.publish("homeassistant/status", "online").await;
    let configs = ha.wait_for_discovery().await;
    assert_eq!(configs.len(), 69);
    ha.wait_for(&state_topic("light", "petite_chambre_3"), "None")
        .await;
    ha.wait_for(&state_topic("binary_sensor", "connected"), "ON")
        .await;
}

#[tokio::test]
async fn after_a_broker_restart_the_bridge_reconnects_and_announces_again() {
    let (mut broker, _backend, addr, mut sim, ha) = house(&[]).await;
    broker.stop();
    // the box is served as usual while the broker is down
    let report = cycle(&mut sim).await;
    assert!(report.replies.iter().all(|r| r.bytes > 0));
    broker.restart(); // persistence off: every retained message is gone
    let ha = {
        drop(ha);
        Ha::connect(&broker).await
    };
    ha.wait_for("essensys/bridge/state", "online").await;
    ha.wait_for_discovery().await;
    ha.command("light", "escalier", "ON").await;
    pending_param(addr, 613, 1).await;
}

#[tokio::test]
async fn a_silent_box_goes_offline_and_comes_back() {
    let (_broker, _backend, _addr, mut sim, ha) = house(&["--box-timeout-secs", "1"]).await;
    let availability = format!("essensys/{}/availability", client_id());
    ha.wait_for(&availability, "offline").await;
    ha.wait_for(&state_topic("binary_sensor", "connected"), "OFF")
        .await;
    cycle(&mut sim).await;
    ha.wait_for(&availability, "online").await;
    ha.wait_for(&state_topic("binary_sensor", "connected"), "ON")
        .await;
}

/// Starts the binary bridged to `broker`; returns it once the bridge said `online`.
async fn spawn_backend(broker: &Mosquitto, ha: &Ha) -> Backend {
    let url = broker.url();
    let (backend, _) = run_backend(&["--mqtt-url", &url]);
    ha.wait_for("essensys/bridge/state", "online").await;
    backend
}

#[tokio::test]
async fn sigkill_leaves_the_last_will_and_sigterm_says_offline() {
    let broker = Mosquitto::start();
    let ha = Ha::connect(&broker).await;
    let mut killed = spawn_backend(&broker, &ha).await;
    killed.0.kill().expect("SIGKILL");
    killed.0.wait().expect("reaped");
    ha.wait_for("essensys/bridge/state", "offline").await;

    let mut stopped = spawn_backend(&broker, &ha).await;
    let term = Command::new("kill")
        .args(["-TERM", &stopped.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    ha.wait_for("essensys/bridge/state", "offline").await;
    assert!(stopped.0.wait().expect("exit").success(), "a clean exit");
}
