//! Each box request costs one Redis round trip: counted by the adapter and cross-checked with
//! the server's own `INFO commandstats`.

mod common;

use common::{fixture, Fixture};
use essensys_core::reply::ONE_SEGMENT_LIMIT;
use essensys_testkit::contract::{contact, id, lamp, poll};

/// `calls` of one command in `INFO commandstats`.
fn calls(f: &Fixture, command: &str) -> u64 {
    let info = f.redis.cli(&["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn every_box_request_is_one_round_trip() {
    let f = fixture().await;
    let client = id("box1");
    let body = br#"{"version":"V37","ek":[{k:349,v:"17"},{k:350,v:"3"},{k:11,v:"00000000"}]}"#;
    const CYCLES: u64 = 20;
    let evalsha_before = calls(&f, "evalsha");
    let eval_before = calls(&f, "eval");
    let load_before = calls(&f, "script|load");
    let mut box_requests = 0;
    let mut box_trips = 0;
    for n in 0..CYCLES {
        // an order (not a box request: not counted)
        f.gateway
            .inject(Some(&client), &lamp(n % 2 == 0))
            .await
            .expect("queued");

        let at = 1_000 + n * 2_000;
        let start = f.state.round_trips();
        let mut out = Vec::new();
        f.gateway
            .server_infos(&client, &contact(at), &mut out)
            .await
            .expect("serverinfos");
        let after_poll = f.state.round_trips();
        f.gateway
            .report_status(&client, &contact(at + 50), body)
            .await
            .expect("mystatus");
        let after_report = f.state.round_trips();
        let mut out = Vec::new();
        let guids = f
            .gateway
            .poll_actions(&client, ONE_SEGMENT_LIMIT, &mut out)
            .await
            .expect("myactions");
        let after_deliver = f.state.round_trips();
        assert_eq!(guids.len(), 1);
        assert!(f
            .gateway
            .ack(&client, guids[0].as_str())
            .await
            .expect("done"));
        let after_ack = f.state.round_trips();

        let per_request = [
            after_poll - start,
            after_report - after_poll,
            after_deliver - after_report,
            after_ack - after_deliver,
        ];
        assert_eq!(per_request, [1, 1, 1, 1], "cycle {n}");
        box_requests += 4;
        box_trips += after_ack - start;
    }
    // the server saw exactly one EVALSHA per scripted request (report, deliver, ack), never a
    // fallback EVAL, and no script loading (done once, when `connect` opened the connection)
    assert_eq!(calls(&f, "evalsha") - evalsha_before, 3 * CYCLES);
    assert_eq!(calls(&f, "eval") - eval_before, 0);
    assert_eq!(calls(&f, "script|load") - load_before, 0);
    assert_eq!(load_before, 4);
    println!("{box_requests} box requests, {box_trips} redis round trips");
    assert_eq!(box_trips, box_requests);
}

#[tokio::test]
async fn a_push_is_three_round_trips() {
    let f = fixture().await;
    let client = id("box1");
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    let before = f.state.round_trips();
    f.gateway
        .inject(Some(&client), &lamp(false))
        .await
        .expect("queued");
    // pool check (PING), WATCH + reads, MULTI/EXEC
    assert_eq!(f.state.round_trips() - before, 3);
    let (_, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 2);
}
