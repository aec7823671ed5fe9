//! End to end: bp-sim, a faithful box, cycles against the whole backend over real TCP while
//! orders come in through the HTTP API.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use essensys_bp_sim::{house::DeviceState, BoxSim, CycleReport, SimConfig};
use essensys_core::{catalog::DeviceKind, matricule::Key, Index};

mod common;
use common::{api, start};

const KEY_A: &str = "12345678901234567890123456789012";
const KEY_B: &str = "98765432109876543210987654321098";

fn sim(addr: SocketAddr, key: &str) -> BoxSim {
    let key = Key::parse(key).expect("key");
    BoxSim::new(SimConfig {
        key: Some(key),
        step_gap: Duration::ZERO,
        ..SimConfig::new(addr)
    })
}

async fn cycle(sim: &mut BoxSim) -> CycleReport {
    let report = sim
        .cycle()
        .await
        .unwrap_or_else(|e| panic!("cycle failed as the firmware would see it: {e}"));
    for reply in &report.replies {
        assert!(
            reply.bytes <= 1499,
            "{:?} reply of {} bytes",
            reply.endpoint,
            reply.bytes
        );
    }
    report
}

/// Cycles until the box gets no more actions; returns every action executed.
async fn drain(sim: &mut BoxSim) -> Vec<essensys_bp_sim::ExecutedAction> {
    let mut executed = Vec::new();
    for _ in 0..20 {
        let report = cycle(sim).await;
        if report.actions.is_empty() {
            return executed;
        }
        assert!(
            report.actions.iter().all(|a| a.acked),
            "every action is acked"
        );
        executed.extend(report.actions);
    }
    panic!("actions still pending after 20 cycles");
}

fn client_id(key: &str) -> String {
    Key::parse(key).expect("key").client_id().to_string()
}

#[tokio::test]
async fn an_idle_cycle_reports_and_gets_nothing() {
    let addr = start(&[]).await;
    let mut box_a = sim(addr, KEY_A);
    let report = cycle(&mut box_a).await;
    assert!(
        report.connected,
        "the gateway says someone is watching: 2 s cadence"
    );
    assert_eq!(report.infos.len(), 30);
    assert!(report.actions.is_empty() && report.alarm.is_none());
    let (status, clients) = api(addr, "GET", "/api/admin/clients", "").await;
    assert_eq!(status, 200);
    assert!(clients.contains(&client_id(KEY_A)), "{clients}");
    // the second cycle asks for the rest of the watch list
    let second = cycle(&mut box_a).await;
    assert_ne!(second.infos, report.infos);
}

#[tokio::test]
async fn injecting_613_64_switches_the_bedroom_3_lamp_on() {
    let addr = start(&[]).await;
    let mut box_a = sim(addr, KEY_A);
    cycle(&mut box_a).await;
    let (status, body) = api(addr, "POST", "/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(status, 200, "{body}");
    let report = cycle(&mut box_a).await;
    assert_eq!(report.actions.len(), 1);
    let action = &report.actions[0];
    assert_eq!(action.scenario, Some(1));
    let mut indices: Vec<u16> = action.params.iter().map(|p| p.index.get()).collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        std::iter::once(590).chain(605..=622).collect::<Vec<_>>(),
        "590 and the whole block"
    );
    assert!(action.acked);
    assert_eq!(
        box_a.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::On)
    );
    assert!(
        report
            .changes
            .iter()
            .any(|c| c == "light petite_chambre_3 (Petite chambre 3): off -> on"),
        "{:?}",
        report.changes
    );
    // acked: gone
    assert!(cycle(&mut box_a).await.actions.is_empty());
    let (_, pending) = api(
        addr,
        "GET",
        &format!("/api/admin/actions?client={}", client_id(KEY_A)),
        "",
    )
    .await;
    assert!(pending.contains(r#""actions":[]"#), "{pending}");
}

#[tokio::test]
async fn a_dozen_conflicting_orders_end_as_if_applied_one_by_one() {
    let addr = start(&[]).await;
    let mut box_a = sim(addr, KEY_A);
    cycle(&mut box_a).await;
    let orders: [(&str, &str, &str); 12] = [
        ("lights", "petite_chambre_3", "on"),
        ("lights", "escalier", "on"),
        ("lights", "petite_chambre_3", "off"),
        ("shutters", "salon_1", "open"),
        ("lights", "cuisine_1", "on"),
        ("shutters", "salon_1", "close"),
        ("lights", "petite_chambre_3", "on"),
        ("shutters", "bureau", "open"),
        ("lights", "escalier", "off"),
        ("shutters", "store_terrasse", "open"),
        ("lights", "bureau", "on"),
        ("shutters", "store_terrasse", "close"),
    ];
    let mut expected: HashMap<(bool, &str), DeviceState> = HashMap::new();
    for (family, id, state) in orders {
        let (status, body) = api(
            addr,
            "POST",
            &format!("/api/v1/{family}/{id}"),
            &format!(r#"{{"state":"{state}"}}"#),
        )
        .await;
        assert_eq!(status, 200, "{family}/{id} {state}: {body}");
        let outcome = match state {
            "on" => DeviceState::On,
            "off" => DeviceState::Off,
            "open" => DeviceState::Open,
            _ => DeviceState::Closed,
        };
        expected.insert((family == "lights", id), outcome);
    }
    let executed = drain(&mut box_a).await;
    // Each order merges into the last queued scene unless it contradicts it: a new action starts
    // at "petite_chambre_3 off", "salon_1 close" and "store_terrasse close" — 4 actions, not 12.
    assert_eq!(
        executed.len(),
        4,
        "merged where safe, apart where conflicting"
    );
    for (device, state) in box_a.house().iter() {
        let key = (device.kind.is_switched(), device.id);
        let want = expected
            .get(&key)
            .copied()
            .unwrap_or(DeviceState::initial(device.kind));
        assert_eq!(state, want, "{} {}", device.kind, device.id);
    }
}

#[tokio::test]
async fn mode_a_launches_and_plain_writes_carry_no_590() {
    let addr = start(&[]).await;
    let mut box_a = sim(addr, KEY_A);
    cycle(&mut box_a).await;
    assert_eq!(
        api(addr, "POST", "/api/v1/scenarios/5/launch", "").await.0,
        200
    );
    assert_eq!(
        api(addr, "POST", "/api/admin/inject", r#"{"k":349,"v":"17"}"#)
            .await
            .0,
        200
    );
    let executed = drain(&mut box_a).await;
    assert_eq!(executed.len(), 2);
    assert_eq!(executed[0].scenario, Some(5));
    assert_eq!(executed[0].params.len(), 1, "Mode A is 590 alone");
    assert_eq!(executed[1].scenario, None);
    assert_eq!(
        executed[1]
            .params
            .iter()
            .map(|p| (p.index.get(), p.value.get()))
            .collect::<Vec<_>>(),
        vec![(349, 17)]
    );
    assert_eq!(box_a.table().get(Index::new(349).expect("index")).get(), 17);
    // the box reports its new heating mode when asked (349 is in the first window)
    cycle(&mut box_a).await;
    let (_, values) = api(addr, "GET", "/api/admin/exchange?keys=349", "").await;
    assert!(values.contains(r#"{"k":349,"v":"17"}"#), "{values}");
}

#[tokio::test]
async fn refused_orders_queue_nothing() {
    let addr = start(&[]).await;
    let mut box_a = sim(addr, KEY_A);
    cycle(&mut box_a).await;
    for body in [
        r#"{"k":953,"v":"1"}"#,
        r#"{"k":613,"v":"256"}"#,
        r#"{"k":613,"v":"x"}"#,
        r#"{"k":0,"v":"1"}"#,
        r#"[{"k":349,"v":"1"},{"k":1000,"v":"1"}]"#,
    ] {
        let (status, reply) = api(addr, "POST", "/api/admin/inject", body).await;
        assert_eq!(status, 400, "{body}: {reply}");
        assert!(reply.starts_with(r#"{"error":"#), "{reply}");
    }
    assert!(cycle(&mut box_a).await.actions.is_empty());
}

#[tokio::test]
async fn a_garbled_status_gets_201_and_the_server_lives_on() {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpStream,
    };
    let addr = start(&[]).await;
    let mut box_a = sim(addr, KEY_A);
    cycle(&mut box_a).await;
    for garbage in [
        &b"POST /api/mystatus HTTP/1.1\r\nContent-Length: 9\r\n\r\n{ek:[{k:1"[..],
        b"POST /api/mystatus HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00\x01",
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(garbage).await.expect("send");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.expect("read");
        assert!(
            reply.starts_with(b"HTTP/1.1 201 Created\r\n"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    }
    // the garbled requests came without Authorization: they count as the `default` box
    let path = format!("/api/admin/inject?client={}", client_id(KEY_A));
    assert_eq!(
        api(addr, "POST", &path, r#"{"k":613,"v":"1"}"#).await.0,
        200
    );
    let report = cycle(&mut box_a).await;
    assert_eq!(report.actions.len(), 1);
    assert_eq!(
        box_a.house().state(DeviceKind::Light, "escalier"),
        Some(DeviceState::On)
    );
}

#[tokio::test]
async fn two_boxes_have_separate_queues() {
    let addr = start(&[]).await;
    let (mut box_a, mut box_b) = (sim(addr, KEY_A), sim(addr, KEY_B));
    cycle(&mut box_a).await;
    cycle(&mut box_b).await;
    let (status, body) = api(addr, "POST", "/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(status, 400, "two boxes: the client must be named: {body}");
    let path = format!("/api/admin/inject?client={}", client_id(KEY_B));
    assert_eq!(
        api(addr, "POST", &path, r#"{"k":613,"v":"64"}"#).await.0,
        200
    );
    assert!(
        cycle(&mut box_a).await.actions.is_empty(),
        "box A gets nothing"
    );
    assert_eq!(cycle(&mut box_b).await.actions.len(), 1);
    assert_eq!(
        box_b.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::On)
    );
    assert_eq!(
        box_a.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::Off)
    );
}

#[tokio::test]
async fn strict_mode_serves_only_configured_keys() {
    let addr = start(&["--box-key", KEY_A]).await;
    cycle(&mut sim(addr, KEY_A)).await;
    let refused = sim(addr, KEY_B).cycle().await;
    assert!(refused.is_err(), "an unknown box is refused in strict mode");
    let (_, clients) = api(addr, "GET", "/api/admin/clients", "").await;
    assert!(!clients.contains(&client_id(KEY_B)), "{clients}");
}

/// A `serverinfos` with `authorization`, raw; returns the status code.
async fn poll_as(addr: SocketAddr, authorization: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /api/serverinfos HTTP/1.1 \r\nhost: mon.essensys.fr\r\nAuthorization: {authorization}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.expect("read");
    String::from_utf8_lossy(&reply)
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn in_open_mode_the_first_matricule_pins_the_box_until_forgotten() {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    let addr = start(&[]).await;
    let key = "12345678901234567890123456789012";
    let mut genuine = sim(addr, key);
    cycle(&mut genuine).await;
    let id = Key::parse(key).expect("key").client_id();
    let forged = format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:0123456789abcdef"))
    );
    assert_eq!(
        poll_as(addr, &forged).await,
        401,
        "same id, another password half"
    );
    let (_, pending) = api(addr, "GET", &format!("/api/admin/actions?client={id}"), "").await;
    assert!(pending.contains(r#""total":0"#), "{pending}");
    cycle(&mut genuine).await; // the genuine box is still served
    let (status, body) = api(addr, "POST", &format!("/api/admin/clients/{id}/forget"), "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(poll_as(addr, &forged).await, 200, "trusted once forgotten");
    let refused = genuine.cycle().await;
    assert!(
        refused.is_err(),
        "now the first box is the stranger: {refused:?}"
    );
}
