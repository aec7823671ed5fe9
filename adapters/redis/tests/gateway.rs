//! The gateway's use cases on Redis: the storage ports' contract
//! (`essensys_testkit::contract`, which the in-memory adapters pass too), each law on a fresh
//! `RedisState`, plus what only Redis has: the keys other tools read, the scripts, concurrency.

mod common;

use common::{fixture, fixture_with, hash, lines};
use essensys_core::{
    action::Slot,
    catalog::{self, DeviceKind},
    gateway::{GatewayConfig, InjectError},
    matricule::Key,
    order::Switch,
    ports::{Acked, ActionQueue, ExchangeStore, PortError, Timestamp},
    reply::{self, AlarmOrder, ONE_SEGMENT_LIMIT},
    state::{Acknowledged, DeviceUpdate},
    ClientId, Command, Guid,
};
use essensys_testkit::contract::{self, contact, id, lamp, poll, NOW};

#[tokio::test]
async fn orders_wait_for_a_box_and_pick_the_only_one() {
    let f = fixture().await;
    contract::orders_wait_for_a_box_and_pick_the_only_one(&f).await;
}

#[tokio::test]
async fn refused_orders_queue_nothing_and_say_why() {
    let f = fixture().await;
    contract::refused_orders_queue_nothing_and_say_why(&f).await;
}

#[tokio::test]
async fn actions_are_delivered_whole_until_acked() {
    let f = fixture().await;
    contract::actions_are_delivered_whole_until_acked(&f).await;
    let sent_set = lines(
        &f.redis
            .cli(&["SMEMBERS", "essensys:client:box1:actions:sent"]),
    );
    assert_eq!(sent_set.len(), 2, "acked guids leave the sent set");
}

#[tokio::test]
async fn compatible_orders_merge_until_sent() {
    let f = fixture().await;
    contract::compatible_orders_merge_until_sent(&f).await;
}

#[tokio::test]
async fn each_box_has_its_own_queue() {
    let f = fixture().await;
    contract::each_box_has_its_own_queue(&f).await;
}

#[tokio::test]
async fn status_reports_store_what_they_can() {
    let f = fixture().await;
    contract::status_reports_store_what_they_can(&f).await;
}

#[tokio::test]
async fn changes_carry_the_old_value_and_history_is_bounded() {
    let f = fixture().await;
    contract::changes_carry_the_old_value_and_history_is_bounded(&f).await;
    // stored newest first
    assert_eq!(
        f.redis
            .cli(&["LINDEX", "essensys:client:box1:history:349", "0"]),
        "3039:1"
    );
}

#[tokio::test]
async fn silent_idle_boxes_are_forgotten() {
    let f = fixture().await;
    contract::silent_idle_boxes_are_forgotten(&f).await;
}

#[tokio::test]
async fn the_first_matricule_pins_its_box() {
    let f = fixture().await;
    contract::the_first_matricule_pins_its_box(&f).await;
}

#[tokio::test]
async fn a_full_queue_refuses_orders_and_keeps_what_it_has() {
    let f = fixture_with(contract::small_queue_config()).await;
    contract::a_full_queue_refuses_orders_and_keeps_what_it_has(&f).await;
}

#[tokio::test]
async fn serverinfos_rotates_through_the_watch_list() {
    let f = fixture_with(contract::watch_list_config()).await;
    contract::serverinfos_rotates_through_the_watch_list(&f).await;
}

#[tokio::test]
async fn acked_scenes_record_device_states() {
    let f = fixture_with(GatewayConfig::default()).await;
    contract::acked_scenes_record_device_states(&f).await;
    // the lamp was last acked with both bits: `unknown`, at the ack's time; nothing else
    assert_eq!(
        hash(&f.redis, "essensys:client:box1:devices"),
        [(
            "light.petite_chambre_3".to_string(),
            format!("unknown:{}", NOW.0)
        )]
    );
}

#[tokio::test]
async fn alarm_orders_ride_in_de67f_and_are_acked() {
    let f = fixture_with(contract::keyed_config()).await;
    contract::alarm_orders_ride_in_de67f_and_are_acked(&f).await;
    // the law leaves a disarm order pending: its key holds exactly its `_de67f` object
    let client = Key::parse(contract::KEY).expect("key").client_id();
    let key = format!("essensys:client:{client}:alarm");
    let pending = f
        .state
        .pending_alarm(&client)
        .await
        .expect("read")
        .expect("pending");
    let mut wire = Vec::new();
    reply::encode_alarm(&mut wire, &pending);
    assert_eq!(f.redis.cli(&["GET", &key]).as_bytes(), wire.as_slice());
    assert_eq!(
        f.gateway
            .ack(&client, pending.guid().as_str())
            .await
            .expect("ack"),
        Acked::Alarm
    );
    assert_eq!(f.redis.cli(&["EXISTS", &key]), "0", "deleted by the ack");
}

#[tokio::test]
async fn the_alarm_key_holds_the_wire_form_until_acked() {
    let f = fixture().await;
    let client = id("box1");
    let key = "essensys:client:box1:alarm";
    let first = AlarmOrder::new(Guid::from_random(1), "73;178;187".into()).expect("obl");
    let second = AlarmOrder::new(Guid::from_random(2), "1;2;3;4".into()).expect("obl");
    assert_eq!(f.state.set_alarm(&client, first.clone()).await, Ok(None));
    assert_eq!(
        f.redis.cli(&["GET", key]),
        r#"{"guid":"00000000-0000-4000-8000-000000000001","obl":"73;178;187"}"#
    );
    assert_eq!(
        f.state.set_alarm(&client, second.clone()).await,
        Ok(Some(first.guid().clone())),
        "SET … GET gives the replaced order back"
    );
    let stored = f.redis.cli(&["GET", key]);
    assert_eq!(
        stored,
        r#"{"guid":"00000000-0000-4000-8000-000000000002","obl":"1;2;3;4"}"#
    );
    assert_eq!(stored.len(), second.encoded_len());
    assert_eq!(
        f.state.pending_alarm(&client).await,
        Ok(Some(second.clone()))
    );
    // it goes first in `myactions`, as stored
    let (body, sent) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert_eq!(body, format!(r#"{{"_de67f":{stored},"actions":[]}}"#));
    assert_eq!(sent, 1);
    // the replaced order's guid is unknown; the pending one's deletes the key
    assert_eq!(f.state.ack(&client, first.guid()).await, Ok(Acked::Unknown));
    assert_eq!(f.redis.cli(&["EXISTS", key]), "1");
    assert_eq!(f.state.ack(&client, second.guid()).await, Ok(Acked::Alarm));
    assert_eq!(f.redis.cli(&["EXISTS", key]), "0");
    assert_eq!(
        f.state.ack(&client, second.guid()).await,
        Ok(Acked::Unknown),
        "idempotent"
    );
    assert_eq!(f.state.pending_alarm(&client).await, Ok(None));
}

#[tokio::test]
async fn an_alarm_order_another_tool_garbled_is_moved_aside() {
    let f = fixture().await;
    let client = id("box1");
    let key = "essensys:client:box1:alarm";
    f.gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    let garbled = r#"{ "guid": "g1", "obl": "1;2" }"#;
    f.redis.cli(&["SET", key, garbled]);
    let delivery = f.state.deliver(&client, usize::MAX).await.expect("deliver");
    assert_eq!((delivery.alarm, delivery.actions.len()), (None, 1));
    assert_eq!(f.redis.cli(&["EXISTS", key]), "0");
    assert_eq!(
        lines(
            &f.redis
                .cli(&["LRANGE", "essensys:client:box1:alarm:rejected", "0", "-1"])
        ),
        [garbled]
    );
    // the same through a read
    f.redis.cli(&["SET", key, "null"]);
    assert_eq!(f.state.pending_alarm(&client).await, Ok(None));
    assert_eq!(
        f.redis
            .cli(&["LLEN", "essensys:client:box1:alarm:rejected"]),
        "2"
    );
    let (body, _) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert!(body.starts_with(r#"{"_de67f":null,"actions":[{"#), "{body}");
}

#[tokio::test]
async fn device_states_follow_the_schema() {
    let f = fixture().await;
    let client = id("box1");
    let device = |kind, id| catalog::device(kind, id).expect("device");
    let (lamp, shutter, awning) = (
        device(DeviceKind::Light, "petite_chambre_3"),
        device(DeviceKind::Shutter, "salon_1"),
        device(DeviceKind::Awning, "store_terrasse"),
    );
    let update = |device, state| DeviceUpdate { device, state };
    f.state
        .record_devices(
            &client,
            &[
                update(awning, Some(Switch::OnOrOpen)),
                update(lamp, Some(Switch::OffOrClose)),
                update(shutter, None),
            ],
            Timestamp(1_000),
        )
        .await
        .expect("recorded");
    f.state
        .record_devices(
            &client,
            &[update(lamp, Some(Switch::OnOrOpen))],
            Timestamp(2_000),
        )
        .await
        .expect("recorded");
    let key = "essensys:client:box1:devices";
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        hash(&f.redis, key),
        pairs(&[
            ("awning.store_terrasse", "on:1000"),
            ("light.petite_chambre_3", "on:2000"),
            ("shutter.salon_1", "unknown:1000"),
        ])
    );
    // what another tool may have written is skipped
    f.redis.cli(&[
        "HSET",
        key,
        "light.nowhere",
        "on:1",
        "light.escalier",
        "open:1",
        "light",
        "on:1",
    ]);
    let known = f.state.devices(&client).await.expect("devices");
    let ack = |state, at| Acknowledged {
        state,
        at: Timestamp(at),
    };
    let in_catalog_order = |d: &&catalog::Device| catalog::position(d);
    let mut expected = vec![
        (lamp, ack(Some(Switch::OnOrOpen), 2_000)),
        (shutter, ack(None, 1_000)),
        (awning, ack(Some(Switch::OnOrOpen), 1_000)),
    ];
    expected.sort_by_key(|(d, _)| in_catalog_order(d));
    assert_eq!(known, expected);
    assert_eq!(f.state.devices(&id("box2")).await, Ok(vec![]));
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
