//! Each box request costs one Redis round trip — a `myactions` carrying an alarm order and the
//! `done` that acks it included — counted by the adapter and cross-checked with the server's own
//! `INFO commandstats`. The one exception is not the adapter's: a `done` that acks a
//! light/shutter scene makes the gateway call a second port (`record_devices`), one more round
//! trip.

mod common;

use common::{fixture, fixture_with, Fixture};
use essensys_core::{
    alarm::AlarmCommand, matricule::Key, ports::Acked, reply::ONE_SEGMENT_LIMIT, state, Order,
};
use essensys_testkit::contract::{self, contact, id, lamp, poll};

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
    let f = fixture_with(contract::keyed_config()).await;
    let client = Key::parse(contract::KEY).expect("key").client_id();
    let body = br#"{"version":"V37","ek":[{k:349,v:"17"},{k:350,v:"3"},{k:11,v:"00000000"}]}"#;
    const CYCLES: u64 = 20;
    let evalsha_before = calls(&f, "evalsha");
    let eval_before = calls(&f, "eval");
    let load_before = calls(&f, "script|load");
    let mut box_requests = 0;
    let mut box_trips = 0;
    let mut acks = 0;
    let mut scene_acks = 0;
    let mut alarm_acks = 0;
    for n in 0..CYCLES {
        // orders (not box requests: not counted): a scene or a launch, and every third cycle
        // an alarm order, which rides in the same `myactions`
        let order = if n % 2 == 0 {
            lamp(n % 4 == 0)
        } else {
            Order::Launch(2)
        };
        f.gateway
            .inject(Some(&client), &order)
            .await
            .expect("queued");
        let alarm = if n % 3 == 0 {
            let queued = f
                .gateway
                .alarm(Some(&client), AlarmCommand::Arm)
                .await
                .expect("alarm queued");
            Some(queued.guid)
        } else {
            None
        };

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
        let text = String::from_utf8(out).expect("utf-8");
        match &alarm {
            Some(guid) => {
                assert!(
                    text.starts_with(&format!(r#"{{"_de67f":{{"guid":"{guid}","obl":""#)),
                    "{text}"
                );
                assert_eq!(guids.len(), 2, "the action, then the alarm order");
            }
            None => {
                assert!(text.starts_with(r#"{"_de67f":null,"#), "{text}");
                assert_eq!(guids.len(), 1);
            }
        }
        assert_eq!(
            [
                after_poll - start,
                after_report - after_poll,
                after_deliver - after_report,
            ],
            [1, 1, 1],
            "cycle {n}"
        );
        box_requests += 3;
        box_trips += after_deliver - start;
        for guid in &guids {
            let before = f.state.round_trips();
            let what = f.gateway.ack(&client, guid.as_str()).await.expect("done");
            let trips = f.state.round_trips() - before;
            match what {
                Acked::Alarm => {
                    assert_eq!(trips, 1, "cycle {n}: acking the alarm order");
                    alarm_acks += 1;
                }
                Acked::Action(action) if !state::acknowledged_by(&action.command).is_empty() => {
                    // the ack script, then the gateway's second port call: the device states
                    assert_eq!(trips, 2, "cycle {n}: acking a scene");
                    scene_acks += 1;
                }
                Acked::Action(_) => assert_eq!(trips, 1, "cycle {n}: acking a launch"),
                Acked::Unknown => panic!("cycle {n}: {guid} was delivered"),
            }
            acks += 1;
            box_requests += 1;
            box_trips += trips;
        }
    }
    assert_eq!(alarm_acks, CYCLES.div_ceil(3));
    assert_eq!(scene_acks, CYCLES / 2);
    // the server saw exactly one EVALSHA per scripted request (report, deliver, each ack),
    // never a fallback EVAL, and no script loading (done once, when `connect` opened the
    // connection)
    assert_eq!(calls(&f, "evalsha") - evalsha_before, 2 * CYCLES + acks);
    assert_eq!(calls(&f, "eval") - eval_before, 0);
    assert_eq!(calls(&f, "script|load") - load_before, 0);
    assert_eq!(load_before, 5);
    println!(
        "{box_requests} box requests, {box_trips} redis round trips ({scene_acks} scene acks \
         also wrote device states)"
    );
    assert_eq!(box_trips, box_requests + scene_acks);
    // the device write was the scene's: the lamp's state is the last scene acked
    assert_eq!(
        f.redis.cli(&[
            "HGET",
            &format!("essensys:client:{client}:devices"),
            "light.petite_chambre_3"
        ]),
        format!("off:{}", contract::NOW.0)
    );
}

#[tokio::test]
async fn an_order_is_four_round_trips() {
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
    // the queue's length (the bound on waiting actions), then the push: pool check (PING),
    // WATCH + reads, MULTI/EXEC
    assert_eq!(f.state.round_trips() - before, 4);
    let (_, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 2);
}
