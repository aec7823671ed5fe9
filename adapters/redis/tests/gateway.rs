//! The gateway's use cases on Redis: the same contract as the in-memory adapters
//! (adapters/memory/tests/gateway.rs), plus the keys other tools read.

mod common;

use common::{contact, fixture, hash, id, lamp, lines, poll};
use essensys_core::{
    action::Slot,
    gateway::InjectError,
    order::RawCell,
    ports::{ActionQueue, Change, Event, ExchangeStore, PortError, Timestamp, HISTORY_LEN},
    reply::{self, ONE_SEGMENT_LIMIT},
    ClientId, Command, Guid, Index, Order, Param, Value,
};

fn index(i: u16) -> Index {
    Index::new(i).expect("index")
}

#[tokio::test]
async fn orders_wait_for_a_box_and_pick_the_only_one() {
    let f = fixture().await;
    assert_eq!(
        f.gateway.inject(None, &lamp(true)).await,
        Err(InjectError::NoBox)
    );
    let mut out = Vec::new();
    f.gateway
        .server_infos(&id("box1"), &contact(1_000), &mut out)
        .await
        .expect("poll");
    let injected = f.gateway.inject(None, &lamp(true)).await.expect("queued");
    assert_eq!(injected.client, id("box1"));
    f.gateway
        .server_infos(&id("box2"), &contact(2_000), &mut out)
        .await
        .expect("poll");
    assert!(
        matches!(f.gateway.inject(None, &lamp(true)).await, Err(InjectError::SeveralBoxes(ids)) if ids == ["box1", "box2"])
    );
}

#[tokio::test]
async fn actions_are_delivered_whole_until_acked() {
    let f = fixture().await;
    let client = id("box1");
    // five conflicting orders: on, off, on, off, on -> five separate scenes
    for n in 0..5 {
        f.gateway
            .inject(Some(&client), &lamp(n % 2 == 0))
            .await
            .expect("queued");
    }
    let budget = ONE_SEGMENT_LIMIT;
    let (body, sent) = poll(&f.gateway, &client, budget).await;
    assert_eq!(sent, 3, "three full scenes fit, not four: {body}");
    assert!(body.len() <= budget);
    // not acked: sent again, the same bytes
    let (again, sent_again) = poll(&f.gateway, &client, budget).await;
    assert_eq!((again.as_str(), sent_again), (body.as_str(), 3));
    let pending = f.gateway.pending(&client).await.expect("pending");
    assert_eq!(
        pending.iter().map(|q| q.sent).collect::<Vec<_>>(),
        [true, true, true, false, false]
    );
    for q in &pending[..3] {
        let guid = q.action.guid.as_str();
        assert!(f.gateway.ack(&client, guid).await.expect("ack"));
        assert!(
            !f.gateway.ack(&client, guid).await.expect("ack twice"),
            "idempotent"
        );
    }
    let (_, rest) = poll(&f.gateway, &client, budget).await;
    assert_eq!(rest, 2);
    assert!(!f
        .gateway
        .ack(&client, "not/a guid")
        .await
        .expect("malformed ack"));
    let sent_set = lines(
        &f.redis
            .cli(&["SMEMBERS", "essensys:client:box1:actions:sent"]),
    );
    assert_eq!(sent_set.len(), 2, "acked guids leave the sent set");
}

#[tokio::test]
async fn compatible_orders_merge_until_sent() {
    let f = fixture().await;
    let client = id("box1");
    let first = f
        .gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    let stairs = Order::Cells(vec![RawCell {
        k: 613,
        v: "1".into(),
    }]);
    let second = f
        .gateway
        .inject(Some(&client), &stairs)
        .await
        .expect("queued");
    assert!(second.enqueued[0].merged);
    assert_eq!(second.enqueued[0].guid, first.enqueued[0].guid);
    let (body, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 1);
    assert!(body.contains(r#"{"k":613,"v":"65"}"#), "{body}");
    // once sent, nothing merges into it any more
    let third = f
        .gateway
        .inject(Some(&client), &stairs)
        .await
        .expect("queued");
    assert!(!third.enqueued[0].merged);
    assert_eq!(f.gateway.pending(&client).await.expect("pending").len(), 2);
}

#[tokio::test]
async fn each_box_has_its_own_queue() {
    let f = fixture().await;
    f.gateway
        .inject(Some(&id("box1")), &lamp(true))
        .await
        .expect("queued");
    let (_, other) = poll(&f.gateway, &id("box2"), ONE_SEGMENT_LIMIT).await;
    assert_eq!(other, 0);
    let (_, mine) = poll(&f.gateway, &id("box1"), ONE_SEGMENT_LIMIT).await;
    assert_eq!(mine, 1);
    let pending = f.gateway.pending(&id("box1")).await.expect("pending");
    assert!(!f
        .gateway
        .ack(&id("box2"), pending[0].action.guid.as_str())
        .await
        .expect("ack"));
    assert_eq!(
        f.gateway.pending(&id("box1")).await.expect("pending").len(),
        1
    );
}

#[tokio::test]
async fn status_reports_store_what_they_can() {
    let f = fixture().await;
    let client = id("box1");
    let body = br#"{"version":"V37","ek":[{k:349,v:"17"},{k:11,v:"10000000"},{k:350,v:"#;
    let outcome = f
        .gateway
        .report_status(&client, &contact(1_000), body)
        .await
        .expect("stored");
    assert_eq!(outcome.stored, 2);
    assert_eq!(outcome.errors.len(), 1);
    let values = f
        .gateway
        .read_values(&client, &[index(349), index(11), index(350)])
        .await
        .expect("values");
    let values: Vec<Option<u8>> = values.into_iter().map(|(_, v)| v.map(Value::get)).collect();
    assert_eq!(values, vec![Some(17), Some(1), None]);
    let clients = f.gateway.clients().await.expect("clients");
    assert_eq!(clients[0].version.as_deref(), Some("37"));
    let events = f.events.take();
    assert!(
        matches!(&events[..], [Event::Garbled { .. }, Event::Reported { changes, .. }] if changes.len() == 2)
    );
    // the same report again changes nothing and records no history
    f.gateway
        .report_status(&client, &contact(2_000), body)
        .await
        .expect("stored");
    assert!(!f
        .events
        .take()
        .iter()
        .any(|e| matches!(e, Event::Reported { .. })));
    assert_eq!(
        f.gateway
            .history(&client, index(349))
            .await
            .expect("history")
            .len(),
        1
    );
    assert_eq!(
        f.gateway.table(&client).await.expect("table"),
        vec![
            Param::new(index(11), Value::from(1)),
            Param::new(index(349), Value::from(17))
        ]
    );
}

#[tokio::test]
async fn changes_carry_the_old_value_and_history_is_bounded() {
    let f = fixture().await;
    let client = id("box1");
    let cell = |v: u8| [Param::new(index(349), Value::from(v))];
    let first = f
        .state
        .apply_report(&client, &contact(1_000), Some("37"), &cell(17))
        .await
        .expect("report");
    assert_eq!(
        first,
        vec![Change {
            index: index(349),
            old: None,
            new: Value::from(17)
        }]
    );
    let second = f
        .state
        .apply_report(&client, &contact(2_000), None, &cell(18))
        .await
        .expect("report");
    assert_eq!(second[0].old, Some(Value::from(17)));
    for n in 0..40u64 {
        f.state
            .apply_report(&client, &contact(3_000 + n), None, &cell((n % 2) as u8))
            .await
            .expect("report");
        // unchanged: no history
        f.state
            .apply_report(&client, &contact(3_000 + n), None, &cell((n % 2) as u8))
            .await
            .expect("report");
    }
    let history = f.state.history(&client, index(349)).await.expect("history");
    assert_eq!(history.len(), HISTORY_LEN);
    assert_eq!(
        history.last().map(|s| s.at),
        Some(Timestamp(3_039)),
        "oldest first"
    );
    assert_eq!(history[0].at, Timestamp(3_015));
    assert_eq!(
        f.redis
            .cli(&["LINDEX", "essensys:client:box1:history:349", "0"]),
        "3039:1"
    );
    assert_eq!(
        f.state.values(&client, &[]).await.expect("no indices"),
        vec![]
    );
}

#[tokio::test]
async fn the_shared_keys_follow_the_schema() {
    let f = fixture().await;
    let client = id("767179c7a2bff196");
    let at = 1_795_759_212_345; // 2026-11-27T06:00:12.345Z
    let mut out = Vec::new();
    f.gateway
        .server_infos(&client, &contact(at), &mut out)
        .await
        .expect("poll");
    f.gateway
        .report_status(
            &client,
            &contact(at + 1_000),
            br#"{"version":"V37","ek":[{k:349,v:"17"},{k:920,v:"10000000"}]}"#,
        )
        .await
        .expect("report");
    let key = |s: &str| format!("essensys:client:767179c7a2bff196:{s}");
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        hash(&f.redis, &key("authinfo")),
        pairs(&[
            ("auth", "Basic NzY3MTc5YzdhMmJmZjE5Njo1MWNlOTdkMjk0YzMwY2Zi"),
            ("ip", "192.0.2.7"),
            ("updated", "2026-11-27T06:00:13.345Z"),
            ("version", "37"),
        ])
    );
    assert_eq!(
        f.redis.cli(&["GET", &key("last_poll")]),
        "2026-11-27T06:00:12.345Z"
    );
    assert_eq!(f.redis.cli(&["GET", &key("connected")]), "true");
    assert_eq!(
        f.redis.cli(&["GET", "essensys:meta:last_polled_client"]),
        "767179c7a2bff196"
    );
    assert_eq!(
        hash(&f.redis, &key("exchange")),
        pairs(&[("349", "17"), ("920", "1")])
    );
    assert_eq!(
        lines(&f.redis.cli(&["SMEMBERS", "essensys:clients"])),
        ["767179c7a2bff196"]
    );
    let clients = f.state.clients().await.expect("clients");
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].last_seen, Timestamp(at + 1_000));
    assert_eq!(clients[0].address, "192.0.2.7".parse().ok());

    // the queue holds each action's exact wire form
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    let pending = f.state.pending(&client).await.expect("pending");
    let mut wire = Vec::new();
    reply::encode_action(&mut wire, &pending[0].action);
    let stored = lines(&f.redis.cli(&["LRANGE", &key("actions"), "0", "-1"]));
    assert_eq!(stored, [String::from_utf8(wire).expect("ascii")]);
    assert!(stored[0].starts_with(r#"{"guid":"00000000-0000-4000-8000-000000000001","params":[{"k":590,"v":"1"},{"k":605,"v":"0"}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_all_land() {
    let f = fixture().await;
    let client = id("box1");
    let tasks: Vec<_> = (0..20u128)
        .map(|n| {
            let state = f.state.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let launch = Command::Launch(Slot::new(2 + (n % 7) as u8).expect("slot"));
                state
                    .push(&client, vec![(launch, Guid::from_random(n))])
                    .await
            })
        })
        .collect();
    for task in tasks {
        let enqueued = task.await.expect("task").expect("pushed despite conflicts");
        assert!(!enqueued[0].merged);
    }
    let pending = f.state.pending(&client).await.expect("pending");
    let mut guids: Vec<String> = pending.iter().map(|q| q.action.guid.to_string()).collect();
    guids.sort();
    guids.dedup();
    assert_eq!(guids.len(), 20, "every push landed exactly once");
}

#[tokio::test]
async fn a_legacy_list_of_the_wrong_type_does_not_break_delivery() {
    let f = fixture().await;
    f.redis.cli(&["SET", "essensys:global:actions", "oops"]);
    f.gateway
        .inject(Some(&ClientId::default_box()), &lamp(true))
        .await
        .expect("queued");
    let (_, sent) = poll(&f.gateway, &ClientId::default_box(), ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 1);
}

#[tokio::test]
async fn redis_refusals_are_failures_not_outages() {
    let f = fixture().await;
    let client = id("box9");
    f.redis
        .cli(&["SET", "essensys:client:box9:actions", "not a list"]);
    let err = f
        .state
        .deliver(&client, 1_000)
        .await
        .expect_err("wrongtype");
    assert!(
        matches!(&err, PortError::Failed(m) if m.contains("deliver to box9") && m.contains("WRONGTYPE")),
        "{err:?}"
    );
    let err = f
        .gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect_err("wrongtype");
    assert!(
        matches!(err, InjectError::Port(PortError::Failed(_))),
        "{err:?}"
    );
    assert_eq!(f.state.health(), essensys_redis::Health::Up);
}
