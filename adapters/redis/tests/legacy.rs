//! The older gateways' global list is moved into the `default` box's queue: delivered once,
//! under its original guid; invalid elements set aside.

mod common;

use common::{fixture, lines};
use essensys_core::{ports::Acked, reply::ONE_SEGMENT_LIMIT, ClientId};
use essensys_testkit::contract::{id, lamp, poll};

const GLOBAL: &str = "essensys:global:actions";

#[tokio::test]
async fn legacy_actions_reach_the_default_box_once() {
    let f = fixture().await;
    let default = ClientId::default_box();
    f.redis.cli(&[
        "RPUSH",
        GLOBAL,
        r#"{ "guid" : "legacy-1", "params" : [ { "k" : 613, "v" : 64 } ] }"#,
        r#"{"guid":"legacy-2","params":[{"k":953,"v":"1"}]}"#,
        r#"{"guid":"legacy-3","params":[{"k":590,"v":"5"}]}"#,
        "not json at all",
    ]);

    // another box does not take them
    let (_, other) = poll(&f.gateway, &id("box1"), ONE_SEGMENT_LIMIT).await;
    assert_eq!(other, 0);
    assert_eq!(f.redis.cli(&["LLEN", GLOBAL]), "4");

    let (body, sent) = poll(&f.gateway, &default, ONE_SEGMENT_LIMIT).await;
    assert_eq!(sent, 2, "{body}");
    assert!(
        body.contains(r#"{"guid":"legacy-1","params":[{"k":590,"v":"1"},{"k":605,"v":"0"}"#),
        "{body}"
    );
    assert!(body.contains(r#"{"k":613,"v":"64"}"#), "{body}");
    assert!(
        body.contains(r#"{"guid":"legacy-3","params":[{"k":590,"v":"5"}]}"#),
        "{body}"
    );
    assert_eq!(f.redis.cli(&["LLEN", GLOBAL]), "0", "moved, not copied");
    assert_eq!(
        lines(
            &f.redis
                .cli(&["LRANGE", "essensys:global:actions:rejected", "0", "-1"])
        ),
        [
            r#"{"guid":"legacy-2","params":[{"k":953,"v":"1"}]}"#,
            "not json at all"
        ]
    );

    // not acked: delivered again, not duplicated
    let (again, sent_again) = poll(&f.gateway, &default, ONE_SEGMENT_LIMIT).await;
    assert_eq!((again.as_str(), sent_again), (body.as_str(), 2));
    assert_eq!(f.gateway.pending(&default).await.expect("pending").len(), 2);

    for guid in ["legacy-1", "legacy-3"] {
        let acked = f.gateway.ack(&default, guid).await.expect("ack");
        assert!(
            matches!(&acked, Acked::Action(a) if a.guid.as_str() == guid),
            "{acked:?}"
        );
    }
    let (_, after) = poll(&f.gateway, &default, ONE_SEGMENT_LIMIT).await;
    assert_eq!(after, 0);
}

#[tokio::test]
async fn legacy_actions_queue_behind_what_is_already_there() {
    let f = fixture().await;
    let default = ClientId::default_box();
    f.gateway
        .inject(Some(&default), &lamp(false))
        .await
        .expect("queued");
    // a plain write expanding to two actions (41 cells: chunked by 30), with its guid kept
    // for the first and suffixed for the second
    let cells: Vec<String> = (13..54)
        .map(|k| format!(r#"{{"k":{k},"v":"1"}}"#))
        .collect();
    let element = format!(r#"{{"guid":"old","params":[{}]}}"#, cells.join(","));
    f.redis.cli(&["RPUSH", GLOBAL, &element]);
    let (_, sent) = poll(&f.gateway, &default, 10_000).await;
    assert_eq!(sent, 3);
    let guids: Vec<String> = f
        .gateway
        .pending(&default)
        .await
        .expect("pending")
        .iter()
        .map(|q| q.action.guid.to_string())
        .collect();
    assert_eq!(guids[1..], ["old", "old-2"]);
}
