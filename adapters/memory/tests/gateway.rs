//! The gateway's use cases on the in-memory adapters.

use std::sync::Arc;

use essensys_core::{
    catalog::DeviceKind,
    gateway::{GatewayConfig, InjectError, Ports},
    order::{DeviceOrder, RawCell, Switch},
    ports::{Contact, Event, Timestamp},
    reply::BOX_READ_LIMIT,
    ClientId, Gateway, Index, Order, Value,
};
use essensys_memory::{CountingGuids, ManualClock, MemoryQueue, MemoryStore, RecordedEvents};

struct Fixture {
    gateway: Gateway,
    events: Arc<RecordedEvents>,
}

fn gateway(config: GatewayConfig) -> Fixture {
    let events = Arc::new(RecordedEvents::default());
    let ports = Ports {
        store: Arc::new(MemoryStore::new()),
        queue: Arc::new(MemoryQueue::new()),
        events: events.clone(),
        clock: Arc::new(ManualClock::new(Timestamp(1_000))),
        guids: Arc::new(CountingGuids::default()),
    };
    Fixture {
        gateway: Gateway::new(ports, config),
        events,
    }
}

fn contact() -> Contact {
    Contact {
        at: Timestamp(1_000),
        address: "192.0.2.7".parse().ok(),
        authorization: None,
    }
}

fn id(s: &str) -> ClientId {
    ClientId::new(s).expect("client id")
}

fn lamp(on: bool) -> Order {
    let switch = if on {
        Switch::OnOrOpen
    } else {
        Switch::OffOrClose
    };
    Order::Devices(vec![DeviceOrder::find(
        DeviceKind::Light,
        "petite_chambre_3",
        switch,
    )
    .expect("lamp")])
}

async fn poll(gateway: &Gateway, client: &ClientId, budget: usize) -> (String, usize) {
    let mut out = Vec::new();
    let guids = gateway
        .poll_actions(client, budget, &mut out)
        .await
        .expect("poll");
    (String::from_utf8(out).expect("utf-8"), guids.len())
}

#[tokio::test]
async fn orders_wait_for_a_box_and_pick_the_only_one() {
    let f = gateway(GatewayConfig::default());
    assert_eq!(
        f.gateway.inject(None, &lamp(true)).await,
        Err(InjectError::NoBox)
    );
    let mut out = Vec::new();
    f.gateway
        .server_infos(&id("box1"), &contact(), &mut out)
        .await
        .expect("poll");
    let injected = f.gateway.inject(None, &lamp(true)).await.expect("queued");
    assert_eq!(injected.client, id("box1"));
    f.gateway
        .server_infos(&id("box2"), &contact(), &mut out)
        .await
        .expect("poll");
    assert!(
        matches!(f.gateway.inject(None, &lamp(true)).await, Err(InjectError::SeveralBoxes(ids)) if ids == ["box1", "box2"])
    );
}

#[tokio::test]
async fn refused_orders_queue_nothing_and_say_why() {
    let f = gateway(GatewayConfig::default());
    let order = Order::Cells(vec![
        RawCell {
            k: 613,
            v: "64".into(),
        },
        RawCell {
            k: 953,
            v: "1".into(),
        },
    ]);
    let err = f
        .gateway
        .inject(Some(&id("box1")), &order)
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "cell 2: index 953 is out of the exchange table (0..=952)"
    );
    assert!(f
        .gateway
        .pending(&id("box1"))
        .await
        .expect("pending")
        .is_empty());
    assert!(matches!(
        f.events.take().as_slice(),
        [Event::Refused { .. }]
    ));
}

#[tokio::test]
async fn actions_are_delivered_whole_until_acked() {
    let f = gateway(GatewayConfig::default());
    let client = id("box1");
    // five conflicting orders: on, off, on, off, on -> five separate scenes
    for n in 0..5 {
        f.gateway
            .inject(Some(&client), &lamp(n % 2 == 0))
            .await
            .expect("queued");
    }
    let budget = BOX_READ_LIMIT - 120;
    let (body, sent) = poll(&f.gateway, &client, budget).await;
    assert_eq!(sent, 3, "three full scenes fit, not four: {body}");
    assert!(body.len() <= budget);
    // not acked: sent again
    let (again, sent_again) = poll(&f.gateway, &client, budget).await;
    assert_eq!((again.as_str(), sent_again), (body.as_str(), 3));
    let pending = f.gateway.pending(&client).await.expect("pending");
    for q in &pending[..3] {
        assert!(f
            .gateway
            .ack(&client, q.action.guid.as_str())
            .await
            .expect("ack"));
        assert!(
            !f.gateway
                .ack(&client, q.action.guid.as_str())
                .await
                .expect("ack twice"),
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
}

#[tokio::test]
async fn compatible_orders_merge_until_sent() {
    let f = gateway(GatewayConfig::default());
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
    let (body, sent) = poll(&f.gateway, &client, BOX_READ_LIMIT).await;
    assert_eq!(sent, 1);
    assert!(body.contains(r#"{"k":613,"v":"65"}"#), "{body}");
    // once sent, nothing merges into it any more
    let third = f
        .gateway
        .inject(Some(&client), &stairs)
        .await
        .expect("queued");
    assert!(!third.enqueued[0].merged);
}

#[tokio::test]
async fn each_box_has_its_own_queue() {
    let f = gateway(GatewayConfig::default());
    f.gateway
        .inject(Some(&id("box1")), &lamp(true))
        .await
        .expect("queued");
    let (_, other) = poll(&f.gateway, &id("box2"), BOX_READ_LIMIT).await;
    assert_eq!(other, 0);
    let (_, mine) = poll(&f.gateway, &id("box1"), BOX_READ_LIMIT).await;
    assert_eq!(mine, 1);
}

#[tokio::test]
async fn status_reports_store_what_they_can() {
    let f = gateway(GatewayConfig::default());
    let client = id("box1");
    let body = br#"{"version":"V37","ek":[{k:349,v:"17"},{k:11,v:"10000000"},{k:350,v:"#;
    let outcome = f
        .gateway
        .report_status(&client, &contact(), body)
        .await
        .expect("stored");
    assert_eq!(outcome.stored, 2);
    assert_eq!(outcome.errors.len(), 1);
    let values = f
        .gateway
        .read_values(
            &client,
            &[
                Index::new(349).expect("i"),
                Index::new(11).expect("i"),
                Index::new(350).expect("i"),
            ],
        )
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
        .report_status(&client, &contact(), body)
        .await
        .expect("stored");
    assert!(!f
        .events
        .take()
        .iter()
        .any(|e| matches!(e, Event::Reported { .. })));
    assert_eq!(
        f.gateway
            .history(&client, Index::new(349).expect("i"))
            .await
            .expect("history")
            .len(),
        1
    );
}

#[tokio::test]
async fn serverinfos_rotates_through_the_watch_list() {
    let watch: Vec<Index> = (100..145).filter_map(|i| Index::new(i).ok()).collect();
    let f = gateway(GatewayConfig {
        connected: false,
        watch,
    });
    let client = id("box1");
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let mut out = Vec::new();
        f.gateway
            .server_infos(&client, &contact(), &mut out)
            .await
            .expect("infos");
        bodies.push(String::from_utf8(out).expect("utf-8"));
    }
    let first: Vec<String> = (100..130).map(|i: u16| i.to_string()).collect();
    let second: Vec<String> = (130..145).map(|i: u16| i.to_string()).collect();
    assert_eq!(
        bodies[0],
        format!(
            r#"{{"isconnected":false,"infos":[{}],"newversion":"no"}}"#,
            first.join(",")
        )
    );
    assert_eq!(
        bodies[1],
        format!(
            r#"{{"isconnected":false,"infos":[{}],"newversion":"no"}}"#,
            second.join(",")
        )
    );
    assert_eq!(bodies[2], bodies[0]);
}
