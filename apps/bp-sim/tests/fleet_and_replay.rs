//! The fleet load generator and the replayer against a fake server.

mod common;

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use common::{created, fixture, http, myactions, serverinfos, Canned, FakeServer, FIXTURE_GUID};
use essensys_bp_sim::{
    load::{self, LoadConfig},
    replay::{self, ReplayOptions},
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
        mask_length: false,
    }
}

#[tokio::test]
async fn replay_sends_files_as_is_and_compares_after_masking() {
    let server = replay_server().await;
    let dir = temp_dir("replay-ok");
    std::fs::write(dir.join("1-serverinfos.http"), fixture("serverinfos.http")).expect("write");
    std::fs::write(dir.join("2-myactions.http"), fixture("myactions.http")).expect("write");
    std::fs::write(dir.join("3-done.http"), fixture("done.http")).expect("write");
    std::fs::write(dir.join("notes.txt"), "ignored").expect("write");
    // Expected with another guid: equal once GUIDs are masked.
    std::fs::write(
        dir.join("2-myactions.reply"),
        http("200 OK", &format!(r#"{{"_de67f":null,"actions":[{{"guid":"{FIXTURE_GUID}","params":[{{"k":349,"v":"17"}}]}}]}}"#)),
    )
    .expect("write");
    std::fs::write(dir.join("3-done.reply"), http("201 Created", "")).expect("write");

    let cases = replay::load_cases(&dir).expect("cases");
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["1-serverinfos", "2-myactions", "3-done"]);
    assert_eq!(cases[2].read_limit(), 1023);
    assert_eq!(cases[0].read_limit(), 1499);

    let outcomes = replay::replay(cases, &options(&server)).await;
    assert!(outcomes.iter().all(|o| o.passed()), "{outcomes:#?}");
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
    let outcomes =
        replay::replay(replay::load_cases(&dir).expect("cases"), &options(&server)).await;
    assert!(!outcomes[0].passed());
    let diff = outcomes[0].diff.as_deref().expect("a diff");
    assert!(
        diff.contains("- HTTP/1.1 200 OK\\r\n+ HTTP/1.1 201 Created\\r\n"),
        "{diff}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
