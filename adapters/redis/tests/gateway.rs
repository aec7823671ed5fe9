//! The gateway's use cases on Redis: the storage ports' contract
//! (`essensys_testkit::contract`, which the in-memory adapters pass too), each law on a fresh
//! `RedisState`, plus what only Redis has: the keys other tools read, the scripts, concurrency.

mod common;

use common::{fixture, fixture_with, hash, lines};
use essensys_core::{
    action::Slot,
    gateway::InjectError,
    ports::{ActionQueue, ExchangeStore, PortError, Timestamp},
    reply::{self, ONE_SEGMENT_LIMIT},
    ClientId, Command, Guid,
};
use essensys_testkit::contract::{self, contact, id, lamp, poll};

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
async fn serverinfos_rotates_through_the_watch_list() {
    let f = fixture_with(contract::watch_list_config()).await;
    contract::serverinfos_rotates_through_the_watch_list(&f).await;
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
