//! The reply encoders against the real replies quoted in the protocol doc (`fixtures/replies/`),
//! and the box's own request fixtures (`fixtures/box/`) read by core.

use std::{fs, path::PathBuf};

use essensys_core::{
    action::Slot,
    alarm,
    matricule::{self, Key},
    reply::{self, AlarmOrder, ServerInfos, BOX_READ_LIMIT},
    status, Action, Block, Command, Guid, Index,
};

fn fixture(path: &str) -> Vec<u8> {
    let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "fixtures", path]
        .iter()
        .collect();
    fs::read(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("ascii")
}

/// Splits a raw request into its header block and body.
fn split_request(raw: &[u8]) -> (&[u8], &[u8]) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    (&raw[..at], &raw[at + 4..])
}

#[test]
fn serverinfos_matches_the_2013_capture_except_ota() {
    let capture = text(&fixture("replies/serverinfos-2013.body"));
    let infos = [363, 349, 350, 351, 352, 353, 11, 920]
        .map(|i| Index::new(i).expect("index"))
        .to_vec();
    let mut out = Vec::new();
    ServerInfos::new(false, infos)
        .expect("8 infos")
        .encode(&mut out);
    // We never start a firmware download: "V1" becomes "no", everything else is identical.
    assert_eq!(
        text(&out),
        capture.replace(r#""newversion":"V1""#, r#""newversion":"no""#)
    );
}

#[test]
fn empty_myactions_matches_the_go_gateway_body() {
    let reference = fixture("replies/myactions-empty-go.http");
    let (_, body) = split_request(&reference);
    let mut out = Vec::new();
    reply::encode_actions(&mut out, None, &[], BOX_READ_LIMIT);
    assert_eq!(out, body);
}

#[test]
fn alarm_order_matches_the_2013_capture() {
    let capture = fixture("replies/myactions-alarm-2013.body");
    let guid = Guid::new("806b4fc7-a820-4c49-9ae8-24ced8f6770f").expect("guid");
    let obl = "73;178;187;105;197;154;208;248;26;52;219;233;77;251;102;182;53;27;198;207;97;29;242;49;143;6;2;114;203;240;75;156";
    let alarm = AlarmOrder::new(guid, obl.into()).expect("obl");
    let mut out = Vec::new();
    reply::encode_actions(&mut out, Some(&alarm), &[], BOX_READ_LIMIT);
    assert_eq!(text(&out), text(&capture));
}

#[test]
fn myactions_bodies_snapshot() {
    let mut block = Block::default();
    block.set_bits(Index::new(613).expect("index"), 64);
    let key = Key::parse("12345678901234567890123456789012").expect("key");
    let at = alarm::LocalTime::new(2026, 11, 27, 7, 30, 0).expect("time");
    let obl = alarm::obl(&key, alarm::AlarmCommand::Arm, at);
    let alarm = AlarmOrder::new(Guid::from_random(0xa1a2), obl).expect("obl");
    let actions = vec![
        Action {
            guid: Guid::from_random(1),
            command: Command::Scene(block),
        },
        Action {
            guid: Guid::from_random(2),
            command: Command::Launch(Slot::new(5).expect("slot")),
        },
    ];
    let mut out = Vec::new();
    reply::encode_actions(&mut out, None, &actions, BOX_READ_LIMIT);
    insta::assert_snapshot!("myactions_scene_and_launch", text(&out));
    out.clear();
    reply::encode_actions(&mut out, Some(&alarm), &actions[1..], BOX_READ_LIMIT);
    insta::assert_snapshot!("myactions_alarm_and_launch", text(&out));
}

#[test]
fn box_requests_carry_the_placeholder_matricule_and_a_readable_status() {
    let key = Key::parse("12345678901234567890123456789012").expect("key");
    for name in [
        "serverinfos",
        "mystatus",
        "myactions",
        "done",
        "mystatus-empty",
        "mystatus-garbled",
    ] {
        let raw = fixture(&format!("box/{name}.http"));
        assert!(
            raw.len() < 1024,
            "{name}: the firmware sends less than 1024 bytes"
        );
        let (head, body) = split_request(&raw);
        let head = text(head);
        let auth = head
            .lines()
            .find_map(|l| l.strip_prefix("Authorization: "))
            .expect("authorization line");
        assert!(key.verifies(auth), "{name}");
        assert_eq!(
            matricule::client_id(Some(auth)).map(|c| c.to_string()),
            Ok("767179c7a2bff196".into())
        );
        if name.starts_with("mystatus") {
            let report = status::parse_lenient(body);
            let pairs: Vec<String> = report
                .params
                .iter()
                .map(|p| format!("{}={}", p.index, p.value))
                .collect();
            insta::assert_snapshot!(
                format!("box_{name}"),
                format!(
                    "{pairs:?} errors={:?}",
                    report
                        .errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                )
            );
        }
    }
}
