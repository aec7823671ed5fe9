//! The fleet load generator and the replayer against a fake server.

mod common;

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use common::{created, fixture, http, myactions, serverinfos, Canned, FakeServer, FIXTURE_GUID};
use essensys_bp_sim::{
    load::{self, LoadConfig},
    replay::{self, ReplayOptions, Summary, Verdict},
    Timing,
};

#[tokio::test]
async fn a_fleet_cycles_with_distinct_client_ids_and_bounded_time() {
    let server = FakeServer::scripted(
        serverinfos(true, &[349]),
        created(),
        myactions(r#"{"_de67f":null,"actions":[]}"#),
        created(),
    )
    .await;
    let mut config = LoadConfig::new(server.addr, 3, Duration::from_millis(400));
    config.max_cycles = Some(20);
    let report = load::run(config).await.expect("valid config");
    assert_eq!(report.boxes, 3);
    assert!(report.cycles_ok > 0, "{report}");
    assert!(report.cycles_ok <= 60, "bounded by --max-cycles: {report}");
    assert!(report.errors.is_empty(), "{report}");
    assert!(report.requests >= report.cycles_ok * 3, "{report}");
    assert!(report.elapsed < Duration::from_secs(5));
    let latency = report.latency.expect("replies were timed");
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    let text = report.to_string();
    assert!(text.contains("cycles ok") && text.contains("p99") && text.contains("errors: none"));

    let authorizations: BTreeSet<String> = server
        .requests()
        .iter()
        .filter_map(|r| {
            String::from_utf8_lossy(r)
                .lines()
                .find(|l| l.starts_with("Authorization: "))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(authorizations.len(), 3, "one matricule per box");
}

#[tokio::test]
async fn a_fleet_counts_errors_by_kind() {
    let server = FakeServer::scripted(
        serverinfos(true, &[]),
        Canned::Whole(http("400 Bad Request", "")),
        created(),
        created(),
    )
    .await;
    let mut config = LoadConfig::new(server.addr, 2, Duration::from_millis(200));
    config.error_pause = Duration::from_millis(10);
    let report = load::run(config).await.expect("valid config");
    assert_eq!(report.cycles_ok, 0);
    assert!(report.cycles_failed > 0);
    assert_eq!(
        report.errors.keys().copied().collect::<Vec<_>>(),
        vec!["status"]
    );
    assert!(report.examples[0].contains("mystatus"), "{report}");
}

/// A fresh folder under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bp-sim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A server answering like a gateway, with a fresh guid in myactions.
async fn replay_server() -> FakeServer {
    FakeServer::scripted(
        serverinfos(true, &[349]),
        created(),
        myactions(r#"{"_de67f":null,"actions":[{"guid":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","params":[{"k":349,"v":"17"}]}]}"#),
        created(),
    )
    .await
}

fn options(server: &FakeServer) -> ReplayOptions {
    ReplayOptions {
        server: server.addr,
        timing: Timing::default(),
        record: false,
    }
}

#[tokio::test]
async fn replay_sends_files_as_is_and_compares_byte_for_byte_but_placeholders() {
    let server = replay_server().await;
    let dir = temp_dir("replay-ok");
    std::fs::write(dir.join("1-serverinfos.http"), fixture("serverinfos.http")).expect("write");
    std::fs::write(dir.join("2-myactions.http"), fixture("myactions.http")).expect("write");
    std::fs::write(dir.join("3-done.http"), fixture("done.http")).expect("write");
    std::fs::write(dir.join("notes.txt"), "ignored").expect("write");
    std::fs::write(
        dir.join("1-serverinfos.reply"),
        http(
            "200 OK",
            r#"{"isconnected":true,"infos":[349],"newversion":"no"}"#,
        ),
    )
    .expect("write");
    // The real length, the guid masked: any guid of that shape matches.
    let body = r#"{"_de67f":null,"actions":[{"guid":"{{guid}}","params":[{"k":349,"v":"17"}]}]}"#;
    let reply = format!(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json ;charset=UTF-8\r\n\r\n{body}",
        body.len() - "{{guid}}".len() + FIXTURE_GUID.len()
    );
    std::fs::write(dir.join("2-myactions.reply"), reply).expect("write");
    std::fs::write(dir.join("3-done.reply"), http("201 Created", "")).expect("write");

    let cases = replay::load_cases(&dir).expect("cases");
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["1-serverinfos", "2-myactions", "3-done"]);
    assert_eq!(cases[2].read_limit(), 1023);
    assert_eq!(cases[0].read_limit(), 1499);

    let outcomes = replay::replay(cases, &options(&server)).await;
    assert!(outcomes.iter().all(|o| o.passed()), "{outcomes:#?}");
    assert!(Summary::of(&outcomes).ok());
    assert_eq!(
        server.requests(),
        vec![
            fixture("serverinfos.http"),
            fixture("myactions.http"),
            fixture("done.http")
        ],
        "sent byte for byte"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn replay_reports_a_mismatch_as_a_diff() {
    let server = replay_server().await;
    let dir = temp_dir("replay-diff");
    std::fs::write(dir.join("done.http"), fixture("done.http")).expect("write");
    std::fs::write(dir.join("done.reply"), http("200 OK", "")).expect("write");
    let outcomes = replay::replay_dir(&dir, &options(&server))
        .await
        .expect("cases");
    assert!(!outcomes[0].passed());
    let Verdict::Mismatch(diff) = &outcomes[0].verdict else {
        panic!("a mismatch: {:?}", outcomes[0].verdict);
    };
    assert!(
        diff.contains("- HTTP/1.1 200 OK\\r\n+ HTTP/1.1 201 Created\\r\n"),
        "{diff}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_literal_guid_in_the_expected_file_must_be_that_guid() {
    let server = replay_server().await;
    let dir = temp_dir("replay-literal-guid");
    std::fs::write(dir.join("myactions.http"), fixture("myactions.http")).expect("write");
    // What the server sends, but with another literal guid: not masked, so it must match.
    std::fs::write(
        dir.join("myactions.reply"),
        http("200 OK", &format!(r#"{{"_de67f":null,"actions":[{{"guid":"{FIXTURE_GUID}","params":[{{"k":349,"v":"17"}}]}}]}}"#)),
    )
    .expect("write");
    let outcomes = replay::replay_dir(&dir, &options(&server))
        .await
        .expect("cases");
    let Verdict::Mismatch(diff) = &outcomes[0].verdict else {
        panic!("a mismatch: {:?}", outcomes[0].verdict);
    };
    assert!(
        diff.contains(FIXTURE_GUID) && diff.contains("{{guid}}"),
        "{diff}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_missing_reply_fails_and_record_writes_it_without_passing() {
    let server = replay_server().await;
    let dir = temp_dir("replay-record");
    std::fs::write(dir.join("a-done.http"), fixture("done.http")).expect("write");
    std::fs::write(dir.join("b-myactions.http"), fixture("myactions.http")).expect("write");
    let kept = http("201 Created", "");
    std::fs::write(dir.join("a-done.reply"), &kept).expect("write");

    let outcomes = replay::replay_dir(&dir, &options(&server))
        .await
        .expect("cases");
    assert!(outcomes[0].passed(), "{outcomes:#?}");
    assert!(
        matches!(outcomes[1].verdict, Verdict::Missing),
        "{outcomes:#?}"
    );
    assert!(outcomes[1].describe().contains("b-myactions.reply"));
    let summary = Summary::of(&outcomes);
    assert_eq!((summary.passed, summary.failed), (1, 1));
    assert!(!summary.ok());
    assert!(
        !dir.join("b-myactions.reply").exists(),
        "not written without --record"
    );

    let record = ReplayOptions {
        record: true,
        ..options(&server)
    };
    let outcomes = replay::replay_dir(&dir, &record).await.expect("cases");
    assert!(
        outcomes[0].passed(),
        "an existing reply is compared, not rewritten"
    );
    assert!(
        matches!(outcomes[1].verdict, Verdict::Recorded),
        "{outcomes:#?}"
    );
    let summary = Summary::of(&outcomes);
    assert_eq!(
        (summary.passed, summary.failed, summary.recorded),
        (1, 0, 1)
    );
    assert!(!summary.ok(), "recording is not a pass");
    assert_eq!(std::fs::read(dir.join("a-done.reply")).expect("kept"), kept);
    let recorded = std::fs::read_to_string(dir.join("b-myactions.reply")).expect("recorded");
    assert!(
        recorded.ends_with(
            r#"{"_de67f":null,"actions":[{"guid":"{{guid}}","params":[{"k":349,"v":"17"}]}]}"#
        ),
        "{recorded}"
    );
    assert!(recorded.contains("Content-Length: 105\r\n"), "{recorded}");

    // Once recorded, the folder passes.
    let outcomes = replay::replay_dir(&dir, &options(&server))
        .await
        .expect("cases");
    assert!(Summary::of(&outcomes).ok(), "{outcomes:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_empty_folder_is_an_error() {
    let server = replay_server().await;
    let dir = temp_dir("replay-empty");
    let error = replay::replay_dir(&dir, &options(&server))
        .await
        .expect_err("nothing to compare");
    assert!(error.to_string().contains("compared nothing"), "{error}");
    assert!(server.requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
