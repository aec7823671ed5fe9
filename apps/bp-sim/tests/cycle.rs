//! One box against a fake server: request bytes, the firmware's judgement of each reply, and
//! the effects of actions on the house.

mod common;

use std::time::Duration;

use common::{
    body, created, fixture, http, key, myactions, serverinfos, Canned, FakeServer, FIXTURE_GUID,
};
use essensys_bp_sim::{
    request, sim::CONNECTED_PERIOD, BoxSim, CycleError, DeviceState, Endpoint, Phase,
};
use essensys_core::{
    alarm::{self, AlarmCommand, LocalTime},
    catalog::DeviceKind,
    Index, Value,
};

const EMPTY_ACTIONS: &str = r#"{"_de67f":null,"actions":[]}"#;

fn index(raw: u16) -> Index {
    Index::new(raw).expect("test index")
}

/// One action as the server sends it, from its already-encoded params.
fn action(guid: &str, params: &[String]) -> String {
    format!(r#"{{"guid":"{guid}","params":[{}]}}"#, params.join(","))
}

/// `{"k":613,"v":"64"}`-style params: the full block 605–622 with `on` bits, plus 590 = 1.
fn mode_b(guid: &str, on: &[(u16, u8)]) -> String {
    let mut params = vec![r#"{"k":590,"v":"1"}"#.to_string()];
    for k in 605..=622u16 {
        let v = on.iter().find(|(i, _)| *i == k).map_or(0, |(_, v)| *v);
        params.push(format!(r#"{{"k":{k},"v":"{v}"}}"#));
    }
    action(guid, &params)
}

/// A fake gateway for one ordinary cycle: connected, no infos, 201 to the status, `myactions`
/// answered with `body`, 201 to every `done`.
async fn serving(body: &str) -> FakeServer {
    FakeServer::scripted(
        serverinfos(true, &[]),
        created(),
        myactions(body),
        created(),
    )
    .await
}

fn actions_body(actions: &[String]) -> String {
    format!(r#"{{"_de67f":null,"actions":[{}]}}"#, actions.join(","))
}

#[test]
fn request_builders_are_byte_identical_to_the_fixtures() {
    let m = key().matricule();
    assert_eq!(request::serverinfos(Some(&m)), fixture("serverinfos.http"));
    assert_eq!(request::myactions(Some(&m)), fixture("myactions.http"));
    assert_eq!(request::done(Some(&m), FIXTURE_GUID), fixture("done.http"));
    let status = fixture("mystatus.http");
    assert_eq!(
        request::mystatus(Some(&m), body(&status).as_bytes()),
        status
    );
    let empty = request::status_body("V37", &[]);
    assert_eq!(
        request::mystatus(Some(&m), &empty),
        fixture("mystatus-empty.http")
    );
    let garbled = fixture("mystatus-garbled.http");
    assert_eq!(
        request::mystatus(Some(&m), body(&garbled).as_bytes()),
        garbled
    );
}

#[tokio::test]
async fn a_cycle_sends_the_fixtures_bytes() {
    // The fixture's mystatus reports 613=0, 349=17, 11=0 (binary), 920=1 (binary).
    let action = format!(r#"{{"guid":"{FIXTURE_GUID}","params":[]}}"#);
    let server = FakeServer::scripted(
        serverinfos(true, &[613, 349, 11, 920]),
        created(),
        myactions(&actions_body(&[action])),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    sim.set_cell(index(349), Value(17));
    sim.set_cell(index(920), Value(1));
    let report = sim.cycle().await.expect("cycle");
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0], fixture("serverinfos.http"));
    assert_eq!(requests[1], fixture("mystatus.http"));
    assert_eq!(requests[2], fixture("myactions.http"));
    assert_eq!(requests[3], fixture("done.http"));
    assert_eq!(report.infos, vec![613, 349, 11, 920]);
    assert!(report.actions[0].acked);
}

#[tokio::test]
async fn a_590_action_switches_the_bedroom_lamp_on_and_is_acked() {
    let guid = "0b9f8f5e-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    let body = actions_body(&[mode_b(guid, &[(613, 64)])]);
    let server = FakeServer::scripted(
        serverinfos(true, &[349]),
        created(),
        myactions(&body),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    assert_eq!(
        sim.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::Off)
    );

    let report = sim.cycle().await.expect("cycle");

    assert!(report.connected);
    assert_eq!(
        sim.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::On)
    );
    assert!(
        report
            .changes
            .contains(&"light petite_chambre_3 (Petite chambre 3): off -> on".to_string()),
        "{:#?}",
        report.changes
    );
    assert!(report
        .changes
        .contains(&"cell 613 (Scenario1.Allumer_CHB_LSB): 0 -> 64".to_string()));
    assert!(report
        .changes
        .contains(&"scenario 1 (server scenario) run: masks 605-622 applied".to_string()));
    assert_eq!(report.device_changes.len(), 1);
    assert_eq!(report.device_changes[0].device.id, "petite_chambre_3");
    assert_eq!(report.actions.len(), 1);
    assert_eq!(report.actions[0].guid, guid);
    assert_eq!(report.actions[0].params.len(), 19);
    assert_eq!(report.actions[0].scenario, Some(1));
    assert!(report.actions[0].acked);
    assert_eq!(
        server.lines(),
        vec![
            "GET /api/serverinfos HTTP/1.1 ".to_string(),
            "POST /api/mystatus HTTP/1.1".to_string(),
            "GET /api/myactions HTTP/1.1 ".to_string(),
            format!("POST /api/done/{guid} HTTP/1.1"),
        ]
    );
    // Reply sizes are recorded, one per request.
    let sizes: Vec<(Endpoint, usize)> = report
        .replies
        .iter()
        .map(|r| (r.endpoint, r.bytes))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (
                Endpoint::ServerInfos,
                http(
                    "200 OK",
                    r#"{"isconnected":true,"infos":[349],"newversion":"no"}"#
                )
                .len()
            ),
            (Endpoint::MyStatus, http("201 Created", "").len()),
            (Endpoint::MyActions, http("200 OK", &body).len()),
            (Endpoint::Done, http("201 Created", "").len()),
        ]
    );
    // The box resets 590; the masks stay stored and are reported.
    assert_eq!(sim.table().get(index(590)), Value(0));
    assert_eq!(sim.table().get(index(613)), Value(64));
    assert_eq!(BoxSim::pause_after(&Ok(report)), CONNECTED_PERIOD);
}

#[tokio::test]
async fn empty_infos_make_the_box_report_index_zero() {
    let server = FakeServer::scripted(
        serverinfos(false, &[]),
        created(),
        myactions(EMPTY_ACTIONS),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let report = sim.cycle().await.expect("cycle");
    assert!(report.infos.is_empty());
    assert_eq!(report.reported.len(), 1);
    assert_eq!(report.reported[0].index, 0);
    let status = &server.requests()[1];
    assert_eq!(body(status), r#"{"version":"V37","ek":[{k:0,v:"0"}]}"#);
    assert!(!report.connected);
    assert_eq!(BoxSim::pause_after(&Ok(report)), Duration::from_secs(5));
}

#[tokio::test]
async fn status_values_are_decimal_except_11_920_921_lsb_first() {
    let server = FakeServer::scripted(
        serverinfos(true, &[11, 920, 921, 349, 922, 1000]),
        created(),
        myactions(EMPTY_ACTIONS),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    sim.set_cell(index(11), Value(76));
    sim.set_cell(index(920), Value(1));
    sim.set_cell(index(349), Value(17));
    sim.cycle().await.expect("cycle");
    // 922 is a write-only key cell and 1000 is beyond the table: both report "0".
    assert_eq!(
        body(&server.requests()[1]),
        r#"{"version":"V37","ek":[{k:11,v:"00110010"},{k:920,v:"10000000"},{k:921,v:"00000000"},{k:349,v:"17"},{k:922,v:"0"},{k:1000,v:"0"}]}"#
    );
}

#[tokio::test]
async fn isconnected_is_true_anywhere_else_false_else_an_error() {
    // `true` in a header wins, as in the firmware's strstr.
    let header_true = Canned::Whole(
        b"HTTP/1.1 200 OK\r\nX-Note: true\r\n\r\n{\"isconnected\":false,\"infos\":[],\"newversion\":\"no\"}"
            .to_vec(),
    );
    let server =
        FakeServer::scripted(header_true, created(), myactions(EMPTY_ACTIONS), created()).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    assert!(sim.cycle().await.expect("cycle").connected);
    drop(server);

    let neither = Canned::Whole(http(
        "200 OK",
        r#"{"isconnected":0,"infos":[],"newversion":"no"}"#,
    ));
    let server =
        FakeServer::scripted(neither, created(), myactions(EMPTY_ACTIONS), created()).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(&outcome, Err(CycleError::Grammar { endpoint: Endpoint::ServerInfos, detail }) if detail.contains("isconnected")),
        "{outcome:?}"
    );
    assert_eq!(server.requests().len(), 1, "the cycle stops at serverinfos");
    assert_eq!(BoxSim::pause_after(&outcome), Duration::from_secs(20));
}

#[tokio::test]
async fn a_reply_longer_than_the_buffer_is_too_long() {
    // 1600 bytes of myactions: the firmware would read 1499 and lose the rest.
    let mut long = http("200 OK", EMPTY_ACTIONS);
    let pad = 1600 - long.len();
    let at = long
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |p| p + 2);
    let header = format!("X-Pad: {}\r\n", "a".repeat(pad - 9));
    long.splice(at..at, header.bytes());
    assert_eq!(long.len(), 1600);
    let server = FakeServer::scripted(
        serverinfos(true, &[]),
        created(),
        Canned::Whole(long),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::TooLong {
                endpoint: Endpoint::MyActions,
                bytes: 1600,
                limit: 1499
            })
        ),
        "{outcome:?}"
    );
    // The one read took exactly the buffer.
    assert_eq!(
        sim.last_report().replies.last().map(|r| r.bytes),
        Some(1499)
    );
}

#[tokio::test]
async fn a_reply_of_exactly_1499_bytes_fits_and_done_is_limited_to_1023() {
    let mut exact = http("200 OK", EMPTY_ACTIONS);
    let pad = 1499 - exact.len();
    let at = exact
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |p| p + 2);
    exact.splice(
        at..at,
        format!("X-Pad: {}\r\n", "a".repeat(pad - 9)).bytes(),
    );
    assert_eq!(exact.len(), 1499);
    let server = FakeServer::scripted(
        serverinfos(true, &[]),
        created(),
        Canned::Whole(exact),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    sim.cycle().await.expect("1499 bytes fit");
    drop(server);

    let action = r#"{"_de67f":null,"actions":[{"guid":"g1","params":[]}]}"#;
    let mut done = http("201 Created", "");
    done.resize(1024, b' ');
    let server = FakeServer::scripted(
        serverinfos(true, &[]),
        created(),
        myactions(action),
        Canned::Whole(done),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::TooLong {
                endpoint: Endpoint::Done,
                bytes: 1024,
                limit: 1023
            })
        ),
        "{outcome:?}"
    );
    // The action ran; its ack is what failed.
    assert_eq!(sim.last_report().actions.len(), 1);
    assert!(!sim.last_report().actions[0].acked);
}

#[tokio::test]
async fn a_reply_in_pieces_is_reported_split() {
    let whole = http(
        "200 OK",
        r#"{"isconnected":true,"infos":[],"newversion":"no"}"#,
    );
    let head_end = whole
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 4);
    let pieces = Canned::Pieces(
        vec![whole[..head_end].to_vec(), whole[head_end..].to_vec()],
        Duration::from_millis(15),
    );
    let server = FakeServer::scripted(pieces, created(), myactions(EMPTY_ACTIONS), created()).await;
    let mut config = common::config(server.addr, Some(key()));
    config.timing.overflow_window = Duration::from_millis(300);
    let mut sim = BoxSim::new(config);
    let outcome = sim.cycle().await;
    assert!(
        matches!(outcome, Err(CycleError::Split { endpoint: Endpoint::ServerInfos, read, later }) if read == head_end && later == whole.len() - head_end),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn grammar_errors_fail_the_cycle_before_any_action_runs() {
    let thirty_one: Vec<String> = (0..31)
        .map(|i| format!(r#"{{"k":{},"v":"1"}}"#, 600 + i))
        .collect();
    let cases = [
        (r#"{"k":953,"v":"1"}"#.to_string(), "k 953 is not below 953"),
        (r#"{"k":613,"v":"256"}"#.to_string(), "v 256 is above 255"),
        (thirty_one.join(","), "more than 30 params"),
        (r#"{"k":613, "v":"64"}"#.to_string(), "expected"),
        (r#"{"k":613,"v":64}"#.to_string(), "expected"),
    ];
    for (params, expected) in cases {
        let body = format!(
            r#"{{"_de67f":null,"actions":[{},{{"guid":"bad","params":[{params}]}}]}}"#,
            mode_b("first", &[(613, 64)])
        );
        let server = serving(&body).await;
        let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
        let outcome = sim.cycle().await;
        assert!(
            matches!(&outcome, Err(CycleError::Grammar { endpoint: Endpoint::MyActions, detail }) if detail.contains(expected)),
            "{params}: {outcome:?}"
        );
        // Nothing ran, nothing was acked: the first (valid) action neither.
        assert_eq!(server.requests().len(), 3);
        assert_eq!(
            sim.house().state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::Off)
        );
        assert!(sim.last_report().actions.is_empty());
    }

    // 30 params is the limit, and fine.
    let thirty: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"k":{},"v":"1"}}"#, 600 + i))
        .collect();
    let body = actions_body(&[action("ok", &thirty)]);
    let server = serving(&body).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let report = sim.cycle().await.expect("30 params are fine");
    assert_eq!(report.actions[0].params.len(), 30);
}

#[tokio::test]
async fn mystatus_refused_stops_the_cycle_before_myactions() {
    let server = FakeServer::scripted(
        serverinfos(true, &[349]),
        Canned::Whole(http("400 Bad Request", r#"{"error":"bad"}"#)),
        myactions(EMPTY_ACTIONS),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(&outcome, Err(CycleError::Status { endpoint: Endpoint::MyStatus, expected: "HTTP/1.1 201 Created", status_line }) if status_line == "HTTP/1.1 400 Bad Request"),
        "{outcome:?}"
    );
    assert_eq!(
        server.lines(),
        vec![
            "GET /api/serverinfos HTTP/1.1 ".to_string(),
            "POST /api/mystatus HTTP/1.1".to_string()
        ],
        "myactions must not be requested"
    );
    assert_eq!(sim.last_report().replies.len(), 2);
}

#[tokio::test]
async fn done_answered_200_is_an_error() {
    let server = FakeServer::scripted(
        serverinfos(true, &[]),
        created(),
        myactions(&actions_body(&[
            mode_b("g1", &[(613, 64)]),
            mode_b("g2", &[(607, 64)]),
        ])),
        Canned::Whole(http("200 OK", "")),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::Status {
                endpoint: Endpoint::Done,
                ..
            })
        ),
        "{outcome:?}"
    );
    // The first action ran, its ack failed, the second never ran.
    assert_eq!(server.requests().len(), 4);
    assert_eq!(
        sim.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::On)
    );
    assert_eq!(sim.last_report().actions.len(), 1);
}

#[tokio::test]
async fn transport_failures() {
    // Nothing listening: connect refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut sim = BoxSim::new(common::config(addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::Connect {
                endpoint: Endpoint::ServerInfos,
                ..
            })
        ),
        "{outcome:?}"
    );

    // A server that never answers: reply timeout.
    let server = FakeServer::start(|_| Canned::Silent).await;
    let mut config = common::config(server.addr, Some(key()));
    config.timing.reply_timeout = Duration::from_millis(200);
    let mut sim = BoxSim::new(config);
    let outcome = sim.cycle().await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::Timeout {
                endpoint: Endpoint::ServerInfos,
                phase: Phase::Reply,
                ..
            })
        ),
        "{outcome:?}"
    );

    // A server that closes without a byte.
    let server = FakeServer::start(|_| Canned::Close).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(
            outcome,
            Err(CycleError::NoReply {
                endpoint: Endpoint::ServerInfos
            })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn no_key_sends_no_authorization_header() {
    let server = serving(EMPTY_ACTIONS).await;
    let mut sim = BoxSim::new(common::config(server.addr, None));
    assert_eq!(sim.client_id(), None);
    sim.cycle().await.expect("cycle");
    for request in server.requests() {
        let text = String::from_utf8_lossy(&request).into_owned();
        assert!(!text.contains("Authorization"), "{text}");
        let head = text.split("\r\n\r\n").next().unwrap_or_default();
        let last = head.rsplit("\r\n").next().unwrap_or_default();
        assert!(
            last.starts_with("Accept-Charset: ") || last.starts_with("Content-Length: "),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_newversion_runs_the_cycle_then_refuses_the_ota() {
    let server = FakeServer::scripted(
        Canned::Whole(http(
            "200 OK",
            r#"{"isconnected":false,"infos":[363,349,350,351,352,353,11,920],"newversion":"V1"}"#,
        )),
        created(),
        myactions(&actions_body(&[mode_b("g1", &[(613, 64)])])),
        created(),
    )
    .await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let outcome = sim.cycle().await;
    assert!(
        matches!(&outcome, Err(CycleError::OtaRequested { version }) if version == "V1"),
        "{outcome:?}"
    );
    assert_eq!(
        server.requests().len(),
        4,
        "mystatus, myactions and done still ran"
    );
    assert!(sim.last_report().actions[0].acked);
}

#[tokio::test]
async fn an_alarm_order_is_decrypted_and_acked_only_when_allowed() {
    let at = LocalTime::new(2013, 12, 10, 5, 55, 54).expect("time");
    let obl = alarm::obl(&key(), AlarmCommand::Arm, at);
    let alarm_guid = "11111111-2222-4333-8444-555555555555";
    let body = format!(r#"{{"_de67f":{{"guid":"{alarm_guid}","obl":"{obl}"}},"actions":[]}}"#);

    // 407 = 0: recorded, not acked.
    let server = serving(&body).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let report = sim.cycle().await.expect("cycle");
    let outcome = report.alarm.expect("alarm recorded");
    assert!(!outcome.allowed && !outcome.acked);
    assert_eq!(
        outcome.plaintext.as_deref(),
        Some("ALARMEON_20131210_055554")
    );
    assert_eq!(server.requests().len(), 3);
    assert_eq!(sim.table().get(index(920)), Value(0));

    // 407 = 1: acted on and acked.
    sim.set_cell(index(407), Value(1));
    let report = sim.cycle().await.expect("cycle");
    let outcome = report.alarm.expect("alarm recorded");
    assert!(outcome.allowed && outcome.acked);
    assert_eq!(
        server.lines().last().cloned(),
        Some(format!("POST /api/done/{alarm_guid} HTTP/1.1"))
    );
    assert_eq!(sim.table().get(index(920)), Value(1));

    // With another key the order cannot be read; still acked (407 = 1).
    let other =
        essensys_core::matricule::Key::parse("00000000000000000000000000000001").expect("key");
    let mut sim = BoxSim::new(common::config(server.addr, Some(other)));
    sim.set_cell(index(407), Value(1));
    let report = sim.cycle().await.expect("cycle");
    let outcome = report.alarm.expect("alarm recorded");
    assert_eq!(outcome.plaintext, None);
    assert!(outcome.acked);
    assert!(
        report.changes[0].contains("unreadable"),
        "{:?}",
        report.changes
    );
}

#[tokio::test]
async fn writes_to_read_only_cells_are_ignored_and_still_acked() {
    let body = r#"{"_de67f":null,"actions":[{"guid":"ro","params":[{"k":0,"v":"5"},{"k":349,"v":"17"}]}]}"#;
    let server = serving(body).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    let report = sim.cycle().await.expect("cycle");
    assert!(report.actions[0].acked);
    assert_eq!(report.actions[0].scenario, None);
    assert_eq!(sim.table().get(index(0)), Value(0));
    assert_eq!(sim.table().get(index(349)), Value(17));
    assert!(
        report.changes[0].contains("ignored"),
        "{:?}",
        report.changes
    );
}

#[tokio::test]
async fn writing_the_key_cells_changes_the_matricule() {
    let new_key =
        essensys_core::matricule::Key::parse("98765432109876543210987654321098").expect("key");
    let params: Vec<String> = (922u16..)
        .zip(new_key.to_cells())
        .map(|(k, v)| format!(r#"{{"k":{k},"v":"{}"}}"#, v.get()))
        .collect();
    let body = actions_body(&[action("rekey", &params)]);
    let server = serving(&body).await;
    let mut sim = BoxSim::new(common::config(server.addr, Some(key())));
    sim.cycle().await.expect("cycle");
    assert_eq!(sim.client_id(), Some(new_key.client_id()));
    sim.cycle().await.expect("cycle");
    let last_serverinfos = &server.requests()[4];
    let text = String::from_utf8_lossy(last_serverinfos).into_owned();
    assert!(text.contains(&format!("Authorization: Basic {}\r\n", new_key.matricule())));
    // The firmware derives the matricule from the key cells for every request: the ack of the
    // action that wrote them already carries the new one.
    let ack = String::from_utf8_lossy(&server.requests()[3]).into_owned();
    assert!(ack.starts_with("POST /api/done/rekey "));
    assert!(ack.contains(&new_key.matricule()));
}
