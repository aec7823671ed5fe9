//! The storage ports' contract: what core's [`Gateway`] use cases must do on any
//! [`ExchangeStore`] + [`ActionQueue`] pair, written once and run by every adapter's tests
//! (`adapters/memory/tests/gateway.rs`, `adapters/redis/tests/gateway.rs`).
//!
//! Each law is a `pub async fn` taking a fresh [`Fixture`] (a gateway on the adapter under test,
//! with memory's deterministic clock, guids and event recorder) and asserting: it panics when
//! the adapter breaks the law. An adapter's test file has one `#[tokio::test]` per law, and adds
//! its own checks of what only it has (keys, scripts, outages) after calling the law.
//!
//! The laws only see the ports (through the gateway or [`Fixture::store`]), so they hold for
//! every adapter alike:
//!
//! - orders wait for a box and go to the only one;
//! - refused orders queue nothing and say why;
//! - actions are delivered whole, oldest first, and again until acked; acks are idempotent;
//! - compatible orders merge until sent;
//! - each box has its own queue;
//! - status reports store what they can, and only changes make history;
//! - changes carry the old value and history is bounded to [`HISTORY_LEN`], oldest first;
//! - `serverinfos` rotates through the watch list;
//! - an acked scene records the devices' acknowledged state (and nothing else does);
//! - the first matricule seen pins its box (trust on first use), until forgotten;
//! - boxes long silent with nothing waiting are forgotten;
//! - a box's queue is bounded: a full one refuses orders and loses nothing;
//! - an alarm order rides in `_de67f` before the actions, within the budget, replaces a pending
//!   one, and is acked like an action; it needs the box's key and the keypad's consent (407).

use std::sync::Arc;

use essensys_core::{
    alarm::{self, AlarmCommand},
    catalog::DeviceKind,
    event::{Acked, EventKind},
    gateway::{AlarmRefusal, GatewayConfig, InjectError, Ports},
    matricule::Key,
    order::{DeviceOrder, RawCell, Switch},
    ports::{ActionQueue, Change, Contact, ExchangeStore, Timestamp, HISTORY_LEN},
    reply::{self, ONE_SEGMENT_LIMIT},
    state::Source,
    ClientId, Gateway, Index, Order, Param, Value,
};
use essensys_memory::{CountingGuids, ManualClock, RecordedEvents};

/// The fixture's clock: 2026-11-27T06:00:12.345Z.
pub const NOW: Timestamp = Timestamp(1_795_759_212_345);

/// A [`Gateway`] on the adapters under test, with a manual clock (at [`NOW`]), counting guids
/// and an event recorder.
pub struct Fixture {
    /// The gateway on the adapters under test.
    pub gateway: Gateway,
    /// The store under test itself, for laws of the port alone.
    pub store: Arc<dyn ExchangeStore>,
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
            store: store.clone(),
            queue,
            events: events.clone(),
            clock: Arc::new(ManualClock::new(NOW)),
            guids: Arc::new(CountingGuids::default()),
        };
        Self {
            gateway: Gateway::new(ports, config),
            store,
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
        ..GatewayConfig::default()
    }
}

/// The placeholder key of `legacy-protocol.md` (box `767179c7a2bff196`, the one [`contact`]
/// speaks for).
pub const KEY: &str = "12345678901234567890123456789012";

/// The [`GatewayConfig`] [`alarm_orders_ride_in_de67f_and_are_acked`] needs: the default one,
/// knowing [`KEY`].
pub fn keyed_config() -> GatewayConfig {
    GatewayConfig {
        box_keys: vec![Key::parse(KEY).expect("key")],
        ..GatewayConfig::default()
    }
}

/// The [`GatewayConfig`] [`a_full_queue_refuses_orders_and_keeps_what_it_has`] needs: at most
/// 3 actions waiting per box.
pub fn small_queue_config() -> GatewayConfig {
    GatewayConfig {
        max_pending: 3,
        ..GatewayConfig::default()
    }
}

/// With [`small_queue_config`]: once a box has 3 actions waiting, an order for it is refused
/// (nothing of it queued, a `Refused` event) while other boxes still take orders; once the box
/// acks, orders are taken again.
pub async fn a_full_queue_refuses_orders_and_keeps_what_it_has(f: &Fixture) {
    let (full, other) = (id("box1"), id("box2"));
    // conflicting scenes do not merge: three separate actions
    for n in 0..3 {
        f.gateway
            .inject(Some(&full), &lamp(n % 2 == 0))
            .await
            .expect("room in the queue");
    }
    let before = f.gateway.pending(&full).await.expect("pending");
    assert_eq!(before.len(), 3);
    f.events.take();
    let err = f
        .gateway
        .inject(Some(&full), &lamp(false))
        .await
        .expect_err("the queue is full");
    assert!(
        matches!(&err, InjectError::QueueFull { pending: 3, limit: 3, client } if *client == full),
        "{err:?}"
    );
    assert!(err.to_string().contains("retry"), "{err}");
    assert_eq!(
        f.gateway.pending(&full).await.expect("pending"),
        before,
        "nothing lost, nothing added"
    );
    let events = f.events.take();
    assert!(
        matches!(&events[..], [e] if matches!(&e.kind, EventKind::Refused { .. })),
        "{events:?}"
    );
    f.gateway
        .inject(Some(&other), &lamp(true))
        .await
        .expect("another box has room");
    let guid = before[0].action.guid.clone();
    f.gateway.ack(&full, guid.as_str()).await.expect("ack");
    f.gateway
        .inject(Some(&full), &lamp(true))
        .await
        .expect("room again after an ack");
}

/// Open mode's trust on first use: the first matricule seen for an id pins it, another
/// password half for the same id is refused (with a `Refused` event) while the first keeps
/// working, and a forgotten pin lets the next matricule in (and pins that one).
pub async fn the_first_matricule_pins_its_box(f: &Fixture) {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use essensys_core::matricule::Pin;
    let key = Key::parse(KEY).expect("key");
    let client = key.client_id();
    let genuine = Pin::of(&format!("Basic {}", key.matricule())).expect("pin");
    let forged = Pin::of(&format!(
        "Basic {}",
        STANDARD.encode(format!("{client}:forged"))
    ))
    .expect("pin");
    f.gateway
        .check_pin(&client, &genuine)
        .await
        .expect("first seen: pinned");
    f.gateway
        .check_pin(&client, &genuine)
        .await
        .expect("the same again");
    f.events.take();
    let refused = f
        .gateway
        .check_pin(&client, &forged)
        .await
        .expect_err("another password half");
    assert!(refused.to_string().contains("forget"), "{refused}");
    let events = f.events.take();
    assert!(
        matches!(&events[..], [e] if matches!(&e.kind, EventKind::Refused { .. })),
        "{events:?}"
    );
    f.gateway
        .check_pin(&client, &genuine)
        .await
        .expect("the genuine box still gets in");
    // another id is pinned on its own
    f.gateway
        .check_pin(&id("other"), &forged)
        .await
        .expect("another box");
    f.gateway.forget_pin(&client).await.expect("forget");
    f.gateway
        .check_pin(&client, &forged)
        .await
        .expect("trusted after forget");
    assert!(
        f.gateway.check_pin(&client, &genuine).await.is_err(),
        "and pinned to it"
    );
}

/// Boxes silent long enough with nothing waiting are forgotten (table, contact, listing); a box
/// with an action waiting is kept; a forgotten box that polls again is seen anew.
pub async fn silent_idle_boxes_are_forgotten(f: &Fixture) {
    let (gone, waiting) = (id("gone"), id("waiting"));
    let body = br#"{"version":"V37","ek":[{k:349,v:"17"}]}"#;
    let day = 24 * 3600 * 1000;
    for client in [&gone, &waiting] {
        f.gateway
            .report_status(client, &contact(NOW.0 - 2 * day), body)
            .await
            .expect("report");
    }
    f.gateway
        .inject(Some(&waiting), &lamp(true))
        .await
        .expect("queued");
    assert_eq!(
        f.gateway.forget_silent(7 * day).await.expect("sweep"),
        Vec::<ClientId>::new(),
        "nobody has been silent a week"
    );
    assert_eq!(
        f.gateway.forget_silent(day).await.expect("sweep"),
        vec![gone.clone()]
    );
    let listed: Vec<ClientId> = f
        .gateway
        .clients()
        .await
        .expect("clients")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![waiting.clone()]);
    assert!(f.gateway.table(&gone).await.expect("table").is_empty());
    assert_eq!(f.gateway.table(&waiting).await.expect("table").len(), 1);
    f.gateway
        .report_status(&gone, &contact(NOW.0), body)
        .await
        .expect("back");
    assert_eq!(
        f.gateway.clients().await.expect("clients").len(),
        2,
        "seen anew"
    );
}

/// Whether `what` is an acked action (not the alarm order, not unknown).
fn acked_action(what: Acked) -> bool {
    matches!(what, Acked::Action(_))
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
    let events = f.events.take();
    assert!(
        matches!(&events[..], [e] if matches!(&e.kind, EventKind::Refused { client: Some(c), .. } if *c == id("box1"))),
        "{events:?}"
    );
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
        assert_eq!(
            f.gateway.ack(&client, guid).await.expect("ack"),
            Acked::Action(q.action.clone()),
            "the ack gives the action back"
        );
        assert_eq!(
            f.gateway.ack(&client, guid).await.expect("ack twice"),
            Acked::Unknown,
            "idempotent"
        );
    }
    let (_, rest) = poll(&f.gateway, &client, budget).await;
    assert_eq!(rest, 2);
    assert_eq!(
        f.gateway
            .ack(&client, "not/a guid")
            .await
            .expect("malformed ack"),
        Acked::Unknown
    );
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
    assert!(!acked_action(
        f.gateway
            .ack(&id("box2"), pending[0].action.guid.as_str())
            .await
            .expect("ack")
    ));
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
    let kinds: Vec<&EventKind> = events.iter().map(|e| &e.kind).collect();
    assert!(
        matches!(&kinds[..], [EventKind::Garbled { .. }, EventKind::Reported { changes, .. }] if changes.len() == 2),
        "{kinds:?}"
    );
    assert!(events.iter().all(|e| e.at == NOW), "stamped by the clock");
    // the same report again changes nothing and records no history
    f.gateway
        .report_status(&client, &contact(2_000), body)
        .await
        .expect("stored");
    assert!(!f
        .events
        .take()
        .iter()
        .any(|e| matches!(e.kind, EventKind::Reported { .. })));
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
    let store = &f.store;
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

/// Polls once so that `client` is a known box (at 1 000 ms).
async fn seen(f: &Fixture, client: &ClientId) {
    let mut out = Vec::new();
    f.gateway
        .server_infos(client, &contact(1_000), &mut out)
        .await
        .expect("poll");
}

/// Every device starts unknown; acking a scene records the state of the devices it names, with
/// the ack's time, and publishes `DevicesAcknowledged`; delivering alone records nothing; a later
/// ack wins; both bits leave a device unknown; a launch settles nothing.
pub async fn acked_scenes_record_device_states(f: &Fixture) {
    let client = id("box1");
    seen(f, &client).await;
    let states = f.gateway.device_states(&client).await.expect("states");
    assert_eq!(states.len(), 48);
    assert!(states.iter().all(|s| s.source() == Source::Unknown));
    let on = f
        .gateway
        .inject(Some(&client), &lamp(true))
        .await
        .expect("queued");
    poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    let lamp_state = |states: &[essensys_core::state::DeviceState]| {
        states
            .iter()
            .find(|s| s.device.id == "petite_chambre_3" && s.device.kind == DeviceKind::Light)
            .copied()
            .expect("lamp")
    };
    let before = f.gateway.device_states(&client).await.expect("states");
    assert_eq!(
        lamp_state(&before).source(),
        Source::Unknown,
        "delivered is not done"
    );
    f.events.take();
    let guid = on.enqueued[0].guid.as_str();
    assert!(acked_action(
        f.gateway.ack(&client, guid).await.expect("ack")
    ));
    let after = f.gateway.device_states(&client).await.expect("states");
    let lamp_now = lamp_state(&after);
    assert_eq!(lamp_now.source(), Source::Acknowledged);
    assert_eq!(lamp_now.state(), Some(Switch::OnOrOpen));
    assert_eq!(lamp_now.acknowledged.map(|a| a.at), Some(NOW));
    assert_eq!(
        after
            .iter()
            .filter(|s| s.source() == Source::Acknowledged)
            .count(),
        1
    );
    let events = f.events.take();
    assert!(
        events.iter().any(|e| matches!(&e.kind, EventKind::DevicesAcknowledged { updates, .. } if updates.len() == 1)),
        "{events:?}"
    );
    // off, acked: the later ack wins
    let off = f
        .gateway
        .inject(Some(&client), &lamp(false))
        .await
        .expect("queued");
    f.gateway
        .ack(&client, off.enqueued[0].guid.as_str())
        .await
        .expect("ack");
    let lamp_off = lamp_state(&f.gateway.device_states(&client).await.expect("states"));
    assert_eq!(lamp_off.state(), Some(Switch::OffOrClose));
    // both bits: unknown again
    let both = Order::Cells(vec![
        RawCell {
            k: 613,
            v: "64".into(),
        },
        RawCell {
            k: 607,
            v: "64".into(),
        },
    ]);
    let both = f
        .gateway
        .inject(Some(&client), &both)
        .await
        .expect("queued");
    f.gateway
        .ack(&client, both.enqueued[0].guid.as_str())
        .await
        .expect("ack");
    let lamp_both = lamp_state(&f.gateway.device_states(&client).await.expect("states"));
    assert_eq!(lamp_both.source(), Source::Unknown);
    assert!(lamp_both.acknowledged.is_some(), "acknowledged, as unknown");
    // a launch settles nothing
    f.events.take();
    let launch = f
        .gateway
        .inject(Some(&client), &Order::Launch(2))
        .await
        .expect("queued");
    f.gateway
        .ack(&client, launch.enqueued[0].guid.as_str())
        .await
        .expect("ack");
    assert!(!f
        .events
        .take()
        .iter()
        .any(|e| matches!(e.kind, EventKind::DevicesAcknowledged { .. })));
}

/// `f` must be built with [`keyed_config`]. An alarm order for box `767179c7a2bff196` is the
/// `_de67f` object of its next `myactions` (decrypting with its key to `ALARMEON_…`), the
/// actions packed after it within the budget; a newer order replaces the pending one; the box's
/// `done` removes it and nothing else. Refused for a box whose key is unknown, and once the box
/// reports 407 = 0.
pub async fn alarm_orders_ride_in_de67f_and_are_acked(f: &Fixture) {
    let key = Key::parse(KEY).expect("key");
    let client = key.client_id();
    seen(f, &client).await;
    for _ in 0..3 {
        f.gateway
            .inject(Some(&client), &lamp(true))
            .await
            .expect("queued");
        f.gateway
            .inject(Some(&client), &lamp(false))
            .await
            .expect("queued");
    }
    let first = f
        .gateway
        .alarm(Some(&client), AlarmCommand::Arm)
        .await
        .expect("alarm queued");
    assert_eq!(first.replaced, None);
    let second = f
        .gateway
        .alarm(Some(&client), AlarmCommand::Arm)
        .await
        .expect("alarm queued");
    assert_eq!(
        second.replaced,
        Some(first.guid.clone()),
        "the newer replaces the pending"
    );
    let status = f.gateway.alarm_status(&client).await.expect("status");
    assert_eq!(
        status.pending,
        Some((second.guid.clone(), Some(AlarmCommand::Arm)))
    );
    assert!(status.key_known);
    // a budget that holds exactly three of the queued scenes without an alarm order
    let queued = f.gateway.pending(&client).await.expect("pending");
    let scene_len = reply::action_len(&queued[0].action);
    let budget = reply::empty_actions_len(None) + 3 * scene_len + 2;
    let (body, sent) = poll(&f.gateway, &client, budget).await;
    assert!(body.len() <= budget, "{} > {budget}", body.len());
    let prefix = format!(r#"{{"_de67f":{{"guid":"{}","obl":""#, second.guid);
    assert!(body.starts_with(&prefix), "{body}");
    let obl = body[prefix.len()..].split('"').next().expect("obl");
    let text = alarm::decrypt_obl(&key, obl).expect("decrypts with the box's key");
    assert!(text.starts_with("ALARMEON_"), "{text}");
    assert_eq!(
        sent, 3,
        "the alarm order and two scenes fit, not three: {body}"
    );
    assert!(
        body.contains(r#""actions":[{"guid":"#),
        "actions follow: {body}"
    );
    // the same again until acked
    let (again, _) = poll(&f.gateway, &client, budget).await;
    assert_eq!(again, body);
    assert_eq!(
        f.gateway
            .ack(&client, first.guid.as_str())
            .await
            .expect("ack"),
        Acked::Unknown,
        "the replaced order is gone"
    );
    assert_eq!(
        f.gateway
            .ack(&client, second.guid.as_str())
            .await
            .expect("ack"),
        Acked::Alarm
    );
    assert_eq!(f.gateway.pending(&client).await.expect("pending").len(), 6);
    let (after, _) = poll(&f.gateway, &client, ONE_SEGMENT_LIMIT).await;
    assert!(
        after.starts_with(r#"{"_de67f":null,"actions":[{"#),
        "{after}"
    );
    assert_eq!(
        f.gateway
            .alarm_status(&client)
            .await
            .expect("status")
            .pending,
        None
    );
    // a box whose key the gateway does not know
    let stranger = id("box9");
    seen(f, &stranger).await;
    assert_eq!(
        f.gateway.alarm(Some(&stranger), AlarmCommand::Arm).await,
        Err(InjectError::Alarm(AlarmRefusal::NoKey(stranger.clone())))
    );
    // the keypad forbids remote orders
    f.gateway
        .report_status(
            &client,
            &contact(2_000),
            br#"{"version":"V37","ek":[{k:407,v:"0"}]}"#,
        )
        .await
        .expect("report");
    assert_eq!(
        f.gateway.alarm(Some(&client), AlarmCommand::Disarm).await,
        Err(InjectError::Alarm(AlarmRefusal::RemoteAccessOff(
            client.clone()
        )))
    );
    assert_eq!(
        f.gateway
            .alarm_status(&client)
            .await
            .expect("status")
            .pending,
        None
    );
    f.gateway
        .report_status(
            &client,
            &contact(3_000),
            br#"{"version":"V37","ek":[{k:407,v:"1"}]}"#,
        )
        .await
        .expect("report");
    let disarm = f
        .gateway
        .alarm(Some(&client), AlarmCommand::Disarm)
        .await
        .expect("allowed again");
    let status = f.gateway.alarm_status(&client).await.expect("status");
    assert_eq!(status.remote_access, Some(true));
    assert_eq!(
        status.pending,
        Some((disarm.guid, Some(AlarmCommand::Disarm)))
    );
}
