//! The storage ports' contract: what core's [`Gateway`] use cases must do on any
//! [`ExchangeStore`] + [`ActionQueue`] pair, written once and run by every adapter's tests
//! (`adapters/memory/tests/gateway.rs`, `adapters/redis/tests/gateway.rs`).
//!
//! Each law is a `pub async fn` taking a fresh [`Fixture`] (a gateway on the adapter under test,
//! with memory's deterministic clock, guids and event recorder) and asserting: it panics when
//! the adapter breaks the law. An adapter's test file has one `#[tokio::test]` per law, and adds
//! its own checks of what only it has (keys, scripts, outages) after calling the law.
//!
//! The laws only see the ports (through the gateway or [`Gateway::ports`]), so they hold for
//! every adapter alike:
//!
//! - orders wait for a box and go to the only one;
//! - refused orders queue nothing and say why;
//! - actions are delivered whole, oldest first, and again until acked; acks are idempotent;
//! - compatible orders merge until sent;
//! - each box has its own queue;
//! - status reports store what they can, and only changes make history;
//! - changes carry the old value and history is bounded to [`HISTORY_LEN`], oldest first;
//! - `serverinfos` rotates through the watch list.

use std::sync::Arc;

use essensys_core::{
    catalog::DeviceKind,
    gateway::{GatewayConfig, InjectError, Ports},
    order::{DeviceOrder, RawCell, Switch},
    ports::{ActionQueue, Change, Contact, Event, ExchangeStore, Timestamp, HISTORY_LEN},
    reply::ONE_SEGMENT_LIMIT,
    ClientId, Gateway, Index, Order, Param, Value,
};
use essensys_memory::{CountingGuids, ManualClock, RecordedEvents};

/// A [`Gateway`] on the adapters under test, with a manual clock (at 1 000 ms), counting guids
/// and an event recorder.
pub struct Fixture {
    /// The gateway on the adapters under test.
    pub gateway: Gateway,
    /// Everything the gateway published.
    pub events: Arc<RecordedEvents>,
}

impl Fixture {
    /// A gateway with `config` on `store` and `queue` (usually one adapter behind both).
    pub fn new(
        store: Arc<dyn ExchangeStore>,
        queue: Arc<dyn ActionQueue>,
        config: GatewayConfig,
    ) -> Self {
        let events = Arc::new(RecordedEvents::default());
        let ports = Ports {
            store,
            queue,
            events: events.clone(),
            clock: Arc::new(ManualClock::new(Timestamp(1_000))),
            guids: Arc::new(CountingGuids::default()),
        };
        Self {
            gateway: Gateway::new(ports, config),
            events,
        }
    }
}

/// The [`GatewayConfig`] [`serverinfos_rotates_through_the_watch_list`] needs: not connected,
/// watching cells 100..145 (two windows, of 30 and 15 cells).
pub fn watch_list_config() -> GatewayConfig {
    GatewayConfig {
        connected: false,
        watch: (100..145).filter_map(|i| Index::new(i).ok()).collect(),
    }
}

/// A box request at `at` ms, from 192.0.2.7, with box `767179c7a2bff196`'s `Authorization`.
pub fn contact(at: u64) -> Contact {
    Contact {
        at: Timestamp(at),
        address: "192.0.2.7".parse().ok(),
        authorization: Some("Basic NzY3MTc5YzdhMmJmZjE5Njo1MWNlOTdkMjk0YzMwY2Zi".into()),
    }
}

/// A client id (panics when invalid).
pub fn id(s: &str) -> ClientId {
    ClientId::new(s).expect("client id")
}

/// A cell index (panics when out of the table).
pub fn index(i: u16) -> Index {
    Index::new(i).expect("index")
}

/// An order switching the `petite_chambre_3` light on or off (one scene).
pub fn lamp(on: bool) -> Order {
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

/// `myactions` through the gateway: the body and how many actions it carries.
pub async fn poll(gateway: &Gateway, client: &ClientId, budget: usize) -> (String, usize) {
    let mut out = Vec::new();
    let guids = gateway
        .poll_actions(client, budget, &mut out)
        .await
        .expect("poll");
    (String::from_utf8(out).expect("utf-8"), guids.len())
}

/// An order without a box is refused until a box has polled, then goes to the only box, and is
/// refused again (naming them, by id) once there are several.
pub async fn orders_wait_for_a_box_and_pick_the_only_one(f: &Fixture) {
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

/// An invalid order queues nothing, says which cell is wrong and publishes `Refused`.
pub async fn refused_orders_queue_nothing_and_say_why(f: &Fixture) {
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

/// Only whole actions are delivered, as many as fit, oldest first; they are marked sent and
/// sent again (the same bytes) until acked; acks are idempotent and a malformed guid is no
/// error. Leaves `box1` with two sent actions.
pub async fn actions_are_delivered_whole_until_acked(f: &Fixture) {
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
}

/// A compatible order merges into the queued action (same guid) until that action is sent;
/// after that it is queued on its own.
pub async fn compatible_orders_merge_until_sent(f: &Fixture) {
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

/// A box is delivered only its own actions, and cannot ack another box's.
pub async fn each_box_has_its_own_queue(f: &Fixture) {
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

/// A truncated status report stores the cells it could read (and the version), publishes
/// `Garbled` then `Reported`; the same report again changes nothing and makes no history.
pub async fn status_reports_store_what_they_can(f: &Fixture) {
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

/// Straight on the store: a change carries the old value (`None` the first time); only changes
/// make history, which keeps the last [`HISTORY_LEN`] samples, oldest first; no indices, no
/// values. Leaves `box1`'s cell 349 with history from 3 015 to 3 039 ms, the last one `1`.
pub async fn changes_carry_the_old_value_and_history_is_bounded(f: &Fixture) {
    let store = &f.gateway.ports().store;
    let client = id("box1");
    let cell = |v: u8| [Param::new(index(349), Value::from(v))];
    let first = store
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
    let second = store
        .apply_report(&client, &contact(2_000), None, &cell(18))
        .await
        .expect("report");
    assert_eq!(second[0].old, Some(Value::from(17)));
    for n in 0..40u64 {
        store
            .apply_report(&client, &contact(3_000 + n), None, &cell((n % 2) as u8))
            .await
            .expect("report");
        // unchanged: no history
        store
            .apply_report(&client, &contact(3_000 + n), None, &cell((n % 2) as u8))
            .await
            .expect("report");
    }
    let history = store.history(&client, index(349)).await.expect("history");
    assert_eq!(history.len(), HISTORY_LEN);
    assert_eq!(
        history.last().map(|s| s.at),
        Some(Timestamp(3_039)),
        "oldest first"
    );
    assert_eq!(history[0].at, Timestamp(3_015));
    assert_eq!(
        store.values(&client, &[]).await.expect("no indices"),
        vec![]
    );
}

/// `serverinfos` asks for the watched cells 30 at a time, one window per poll, round and round.
/// `f` must be built with [`watch_list_config`].
pub async fn serverinfos_rotates_through_the_watch_list(f: &Fixture) {
    let client = id("box1");
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let mut out = Vec::new();
        f.gateway
            .server_infos(&client, &contact(1_000), &mut out)
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
