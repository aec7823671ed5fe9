//! The box's exact request bytes (`fixtures/box/`) replayed over real TCP against the whole
//! backend: the folder through `bp-sim replay`'s engine, every case compared with its
//! `NAME.reply` (mandatory, byte for byte but `{{guid}}`/`{{date}}`), and a session with an
//! order whose raw reply bytes are snapshots (GUIDs redacted).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use essensys_bp_sim::replay::{self, ReplayOptions, Summary};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

mod common;
use common::{api, start};

/// `fixtures/box/`.
fn box_dir() -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "..", "..", "fixtures", "box"]
        .iter()
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = box_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every outcome's line, for a failure message.
fn report(outcomes: &[replay::ReplayOutcome]) -> String {
    outcomes
        .iter()
        .map(|o| format!("== {}\n{}", o.case.name, o.describe()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `bp-sim replay fixtures/box` against a fresh backend: every `*.http` (sorted, so later
/// cases see the state earlier ones built) must get exactly its `NAME.reply`; a missing
/// `.reply` or any difference fails.
#[tokio::test]
async fn the_box_fixtures_get_exactly_their_recorded_replies() {
    let addr = start(&[]).await;
    let dir = box_dir();
    let requests = std::fs::read_dir(&dir)
        .expect("fixtures/box")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "http"))
        .count();
    assert!(requests >= 6, "fixtures/box lost its cases: {requests}");
    let outcomes = replay::replay_dir(&dir, &ReplayOptions::new(addr))
        .await
        .expect("fixtures/box has cases");
    let summary = Summary::of(&outcomes);
    assert_eq!(summary.cases, requests);
    assert!(summary.ok(), "{summary}\n{}", report(&outcomes));
}

/// The `{{guid}}` placeholder against the backend's real random guids: an order's action
/// matches an expected file with its guid masked and its real Content-Length.
#[tokio::test]
async fn a_real_action_guid_matches_the_guid_placeholder() {
    let addr = start(&[]).await;
    let dir = std::env::temp_dir().join(format!("essensys-replay-guid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("1-serverinfos.http"), fixture("serverinfos.http")).expect("write");
    std::fs::write(
        dir.join("1-serverinfos.reply"),
        fixture("serverinfos.reply"),
    )
    .expect("write");
    std::fs::write(dir.join("2-myactions.http"), fixture("myactions.http")).expect("write");
    let params: Vec<String> = std::iter::once(r#"{"k":590,"v":"1"}"#.to_string())
        .chain((605..=622).map(|k| {
            let v = if k == 613 { 64 } else { 0 };
            format!(r#"{{"k":{k},"v":"{v}"}}"#)
        }))
        .collect();
    let body = format!(
        r#"{{"_de67f":null,"actions":[{{"guid":"{{{{guid}}}}","params":[{}]}}]}}"#,
        params.join(",")
    );
    let length = body.len() - "{{guid}}".len() + 36;
    std::fs::write(
        dir.join("2-myactions.reply"),
        format!("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {length}\r\nContent-Type: application/json ;charset=UTF-8\r\n\r\n{body}"),
    )
    .expect("write");

    let options = ReplayOptions::new(addr);
    let (status, injected) = api(addr, "POST", "/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(status, 409, "no box yet: {injected}");
    // serverinfos makes the box known; then the order, then myactions carries it.
    let first = replay::replay(
        replay::load_cases(&dir)
            .expect("cases")
            .into_iter()
            .take(1)
            .collect(),
        &options,
    )
    .await;
    assert!(Summary::of(&first).ok(), "{}", report(&first));
    let (status, injected) = api(addr, "POST", "/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(status, 200, "{injected}");
    let guid = injected
        .split("\"guid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a guid")
        .to_string();
    assert_eq!(guid.len(), 36, "{guid}");
    let second = replay::replay(
        replay::load_cases(&dir)
            .expect("cases")
            .into_iter()
            .skip(1)
            .collect(),
        &options,
    )
    .await;
    assert!(Summary::of(&second).ok(), "{}", report(&second));
    let text =
        String::from_utf8_lossy(&second[0].reply.as_ref().expect("reply").bytes).into_owned();
    assert!(text.contains(&guid), "the real guid was sent: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends `request` in one write; reads the reply with ONE read of at most `limit` bytes, as the
/// firmware does, and checks nothing more was sent.
async fn box_exchange(addr: SocketAddr, request: &[u8], limit: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut buf = vec![0u8; limit + 1];
    let mut got = 0;
    // the reply is written at once; on loopback it may still arrive in more than one read
    while got <= limit {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf[got..]))
            .await
            .expect("in time")
            .expect("read");
        if n == 0 {
            break;
        }
        got += n;
    }
    assert!(
        got <= limit,
        "reply of {got} bytes exceeds the box's {limit}-byte read"
    );
    buf.truncate(got);
    buf
}

fn redact(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut out = String::new();
    let mut rest = text.as_str();
    // GUIDs: 8-4-4-4-12 hex
    while let Some(at) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        let candidate = &rest[at..];
        let is_guid = candidate.len() >= 36
            && candidate.char_indices().take(36).all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if is_guid {
            out.push_str(&rest[..at]);
            out.push_str("<guid>");
            rest = &candidate[36..];
        } else {
            let step = at + candidate.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..step]);
            rest = &rest[step..];
        }
    }
    out.push_str(rest);
    out.replace("\r\n", "\\r\\n\n")
}

#[tokio::test]
async fn a_box_session_replays_byte_for_byte() {
    let addr = start(&[]).await;
    let infos = box_exchange(addr, &fixture("serverinfos.http"), 1499).await;
    insta::assert_snapshot!("1_serverinfos", redact(&infos));
    let stored = box_exchange(addr, &fixture("mystatus.http"), 1499).await;
    insta::assert_snapshot!("2_mystatus", redact(&stored));
    let idle = box_exchange(addr, &fixture("myactions.http"), 1499).await;
    insta::assert_snapshot!("3_myactions_idle", redact(&idle));

    let (status, injected) = api(addr, "POST", "/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(status, 200, "{injected}");
    let actions = box_exchange(addr, &fixture("myactions.http"), 1499).await;
    insta::assert_snapshot!("4_myactions_lamp_on", redact(&actions));

    // the box acks the action it got: done/<that guid>
    let text = String::from_utf8_lossy(&actions);
    let guid = text
        .split("\"guid\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a guid");
    let done_request = String::from_utf8_lossy(&fixture("done.http"))
        .replace("806b4fc7-a820-4c49-9ae8-24ced8f6770f", guid);
    let done = box_exchange(addr, done_request.as_bytes(), 1023).await;
    insta::assert_snapshot!("5_done", redact(&done));
    let after = box_exchange(addr, &fixture("myactions.http"), 1499).await;
    assert_eq!(after, idle, "acked actions are gone");

    let garbled = box_exchange(addr, &fixture("mystatus-garbled.http"), 1499).await;
    insta::assert_snapshot!("6_mystatus_garbled", redact(&garbled));
    let empty = box_exchange(addr, &fixture("mystatus-empty.http"), 1499).await;
    assert_eq!(empty, stored);
    let unknown_done = box_exchange(addr, &fixture("done.http"), 1023).await;
    assert_eq!(
        unknown_done, done,
        "an unknown guid is acked like a known one"
    );

    // what the box reported is readable, decoded: 11 "00000000" -> 0, 920 "10000000" -> 1
    let (_, values) = api(addr, "GET", "/api/admin/exchange?keys=613,349,11,920", "").await;
    assert!(
        values.ends_with(
            r#"{"k":613,"v":"0"},{"k":349,"v":"17"},{"k":11,"v":"0"},{"k":920,"v":"1"}]}"#
        ),
        "{values}"
    );
}
