//! `GET /metrics` on the live backend after bp-sim cycles, checked by the real `promtool check
//! metrics` (the tool Prometheus ships; `./test.sh` installs it and sets ESSENSYS_TEST_PROMTOOL).

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use essensys_bp_sim::{BoxSim, SimConfig};

mod common;
use common::{api, start};

fn promtool() -> String {
    std::env::var("ESSENSYS_TEST_PROMTOOL").unwrap_or_else(|_| {
        panic!("ESSENSYS_TEST_PROMTOOL is not set: run the tests with ./test.sh, which installs promtool")
    })
}

/// `promtool check metrics` on `text`: its exit status and what it said.
fn check_metrics(text: &str) -> (bool, String) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("metrics written");
    let out = child.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The value of the sample `series` (the whole `name{labels}`), if served.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_cycles_pass_promtool_and_count_what_happened() {
    let addr = start(&[]).await;
    let mut sim = BoxSim::new(SimConfig {
        step_gap: Duration::ZERO,
        ..SimConfig::new(addr)
    });
    sim.cycle().await.expect("cycle");
    let (status, _) = api(addr, "POST", "/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(status, 200);
    let (status, _) = api(addr, "POST", "/api/admin/inject", r#"{"k":953,"v":"1"}"#).await;
    assert_eq!(status, 400);
    sim.cycle().await.expect("cycle with the action");

    let (status, text) = api(addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200, "{text}");
    let (ok, said) = check_metrics(&text);
    assert!(ok, "promtool check metrics: {said}\n{text}");
    // promtool must be able to fail: a counter without HELP and a bad name are refused
    let (ok, said) = check_metrics("# TYPE bad counter\nbad 1\n");
    assert!(!ok, "promtool accepted a counter without _total: {said}");

    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in {text}"));
    assert_eq!(
        value("essensys_box_requests_total{endpoint=\"serverinfos\"}"),
        2.0
    );
    assert_eq!(value("essensys_box_requests_total{endpoint=\"done\"}"), 1.0);
    assert_eq!(
        value("essensys_box_request_duration_seconds_count{endpoint=\"myactions\"}"),
        2.0
    );
    assert_eq!(value("essensys_actions_total{event=\"queued\"}"), 1.0);
    assert_eq!(value("essensys_actions_total{event=\"delivered\"}"), 1.0);
    assert_eq!(value("essensys_actions_total{event=\"acked\"}"), 1.0);
    assert_eq!(value("essensys_actions_total{event=\"refused\"}"), 1.0);
    assert_eq!(value("essensys_actions_pending{client=\"default\"}"), 0.0);
    assert_eq!(value("essensys_box_connected{client=\"default\"}"), 1.0);
    assert_eq!(value("essensys_store_up"), 1.0);
    assert_eq!(value("essensys_status_garbled_total"), 0.0);
    assert_eq!(
        value("essensys_http_requests_total{route=\"/api/admin/inject\",status=\"400\"}"),
        1.0
    );
    let seen = value("essensys_box_last_seen_timestamp_seconds{client=\"default\"}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!((now - seen).abs() < 60.0, "last seen {seen}, now {now}");
    assert!(text.contains(&format!(
        "essensys_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(
        !text.contains("essensys_mqtt_connected"),
        "no broker configured"
    );
}
