//! What happened, for people: the gateway's events as **notices** (one JSON line each), kept for
//! a while and streamed live to the dashboard by `GET /api/v1/events` (server-sent events).
//!
//! [`Live::new`] gives three parts: the [`Live`] handle the router reads, the event sink to put
//! into the gateway's fan-out (a bounded channel: the box never waits for a browser), and the
//! [`LiveTask`] the app runs until shutdown. The task turns events into notices, derives the
//! ones no single event says (a box gone silent for the box timeout is `box_offline`, its
//! next request `box_online`; a leak bit of cell 11 that changed is `leak`), keeps the last
//! [`RECENT`] notable ones for a page that connects later, and broadcasts each to the open
//! streams. When the task stops, the streams end.
//!
//! Notice types: `queued`, `alarm_queued`, `refused`, `delivered`, `acked`, `devices`,
//! `reported`, `leak`, `box_online`, `box_offline`, `box_seen` (at most one per
//! [`SEEN_EVERY`] per box), `garbled`. `reported` and `box_seen` are not kept for replay: they
//! are frequent and only say "look again".

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use essensys_core::{
    action::Command,
    event::{Acked, Event, EventKind},
    house::{Alert, ALERTS},
    ports::Timestamp,
    state::{self, DeviceUpdate},
    ClientId, Value,
};
use essensys_events::ChannelSink;
use serde_json::{json, Value as Json};
use tokio::sync::{broadcast, mpsc};

/// How many notable notices are kept for a page that connects later.
pub const RECENT: usize = 200;

/// The least time between two `box_seen` notices of one box.
pub const SEEN_EVERY: Duration = Duration::from_secs(5);

/// Events waiting for the task; beyond, they are dropped and counted (the box never waits).
const EVENTS: usize = 4096;

/// Notices waiting for a slow stream; a stream further behind skips ahead (and says so).
const STREAM_LAG: usize = 256;

/// One notice: its number (the SSE `id`), the box it concerns and its JSON line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Increasing by one from the microsecond the gateway started (Unix time), so that a page
    /// resuming after a restart with its last id still gets the new ones; below 2^53, so
    /// JavaScript reads it exactly.
    pub id: u64,
    /// The box, if it concerns one.
    pub client: Option<ClientId>,
    /// `{"id","at","type","client",…}` on one line.
    pub json: String,
}

impl Notice {
    /// Whether a stream following `client` (every box when `None`) shows it: notices of that
    /// box and those of no box.
    pub fn concerns(&self, client: Option<&ClientId>) -> bool {
        match (client, &self.client) {
            (Some(wanted), Some(of)) => wanted == of,
            _ => true,
        }
    }
}

/// What streams read: the recent notices and the live ones. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Live {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    recent: Mutex<VecDeque<Arc<Notice>>>,
    /// `None` once the task stopped: streams end.
    live: Mutex<Option<broadcast::Sender<Arc<Notice>>>>,
}

/// What a stream gets when it starts: the kept notices after the one it last saw, then the
/// live ones.
#[derive(Debug)]
pub struct Subscription {
    /// Kept notices with an id above the one asked for, oldest first.
    pub missed: Vec<Arc<Notice>>,
    /// The live notices, `None` when the gateway is stopping.
    pub live: Option<broadcast::Receiver<Arc<Notice>>>,
}

impl Live {
    /// The handle, the sink for the gateway's fan-out, and the task turning events into
    /// notices; a box silent for `box_timeout` is announced offline.
    pub fn new(box_timeout: Duration) -> (Live, ChannelSink, LiveTask) {
        let (sink, events) = essensys_events::channel("dashboard", EVENTS, wanted());
        let (tx, _) = broadcast::channel(STREAM_LAG);
        let shared = Arc::new(Shared {
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            live: Mutex::new(Some(tx)),
        });
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_micros()).unwrap_or(1));
        let task = LiveTask {
            shared: shared.clone(),
            events,
            translator: Translator::new(box_timeout).numbered_from(started),
        };
        (Live { shared }, sink, task)
    }

    /// A handle with no task behind it: nothing kept, and every stream ends at once. For an
    /// API served without the live feed (tests, tools).
    pub fn none() -> Live {
        Live {
            shared: Arc::new(Shared {
                recent: Mutex::new(VecDeque::new()),
                live: Mutex::new(None),
            }),
        }
    }

    /// The kept notices after `after` (all when `None`) and the live feed. Subscribing under
    /// the lock of the kept notices means none falls between the two.
    pub fn subscribe(&self, after: Option<u64>) -> Subscription {
        let recent = self
            .shared
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let live = self
            .shared
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(broadcast::Sender::subscribe);
        let missed = recent
            .iter()
            .filter(|n| after.is_none_or(|after| n.id > after))
            .cloned()
            .collect();
        Subscription { missed, live }
    }
}

/// The events that make notices: everything but API requests, timeouts and rejections (which
/// concern no box and would flood the page), and of each box's requests one per second (all
/// that presence needs: the task is not woken per request).
fn wanted() -> impl Fn(&Event) -> bool + Send + Sync + 'static {
    let presence = essensys_events::Throttle::new(Duration::from_secs(1));
    move |event| match &event.kind {
        EventKind::BoxRequest {
            client: Some(client),
            ..
        } => presence.admit(client, Instant::now()),
        EventKind::BoxRequest { client: None, .. }
        | EventKind::Api { .. }
        | EventKind::Timeout { .. }
        | EventKind::Rejected { .. } => false,
        _ => true,
    }
}

/// Turns the gateway's events into notices until shutdown.
#[derive(Debug)]
pub struct LiveTask {
    shared: Arc<Shared>,
    events: mpsc::Receiver<Event>,
    translator: Translator,
}

impl LiveTask {
    /// Runs until `shutdown` completes (or the gateway is gone), then ends every stream.
    pub async fn run(mut self, shutdown: impl Future) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => {
                        let notices = self.translator.event(&event, Instant::now());
                        self.emit(notices);
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    let notices = self.translator.silences(Instant::now());
                    self.emit(notices);
                }
                _ = &mut shutdown => break,
            }
        }
        self.shared
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn emit(&mut self, notices: Vec<Draft>) {
        for draft in notices {
            let kept = !matches!(draft.kind, "reported" | "box_seen");
            let notice = Arc::new(self.translator.number(draft));
            let mut recent = self
                .shared
                .recent
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if kept {
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back(notice.clone());
            }
            if let Some(tx) = self
                .shared
                .live
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                // No stream open is not an error.
                let _ = tx.send(notice);
            }
        }
    }
}

/// A notice before its number: when, which box, its type and fields.
#[derive(Debug)]
struct Draft {
    at: Timestamp,
    client: Option<ClientId>,
    kind: &'static str,
    fields: Json,
}

/// What a box was last seen doing, for derived notices.
#[derive(Debug)]
struct Presence {
    last_seen: Instant,
    /// The event time of its last request.
    last_at: Timestamp,
    last_seen_notice: Option<Instant>,
    online: bool,
    /// Cell 11 as last reported.
    alerts: Option<Value>,
}

/// The pure part of the task: events in, drafts out (tested without a runtime).
#[derive(Debug)]
struct Translator {
    box_timeout: Duration,
    boxes: HashMap<ClientId, Presence>,
    next_id: u64,
}

impl Translator {
    fn new(box_timeout: Duration) -> Self {
        Self {
            box_timeout,
            boxes: HashMap::new(),
            next_id: 1,
        }
    }

    fn numbered_from(self, first: u64) -> Self {
        Self {
            next_id: first.max(1),
            ..self
        }
    }

    fn number(&mut self, draft: Draft) -> Notice {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = json!({
            "id": id,
            "at": draft.at.to_string(),
            "type": draft.kind,
            "client": draft.client.as_ref().map(ClientId::as_str),
        });
        if let (Json::Object(line), Json::Object(fields)) = (&mut line, draft.fields) {
            line.extend(fields);
        }
        Notice {
            id,
            client: draft.client,
            json: line.to_string(),
        }
    }

    /// The notices of one event seen at `now`.
    fn event(&mut self, event: &Event, now: Instant) -> Vec<Draft> {
        let at = event.at;
        let client = event.client().cloned();
        let draft = |kind, fields| Draft {
            at,
            client: client.clone(),
            kind,
            fields,
        };
        let mut drafts = Vec::new();
        if let Some(client) = &client {
            drafts.extend(self.seen(client, at, now));
        }
        match &event.kind {
            EventKind::Queued {
                enqueued, command, ..
            } => drafts.push(draft(
                "queued",
                json!({
                    "guid": enqueued.guid.as_str(),
                    "merged": enqueued.merged,
                    "command": match command {
                        Command::Scene(_) => "scene",
                        Command::Launch(_) => "launch",
                        Command::Write(_) => "write",
                    },
                    "devices": devices(&state::acknowledged_by(command)),
                    "params": command.iter_params().map(|p| json!({"k": p.index.get(), "v": p.value.get().to_string()})).collect::<Vec<_>>(),
                }),
            )),
            EventKind::AlarmQueued {
                guid,
                command,
                replaced,
                ..
            } => drafts.push(draft(
                "alarm_queued",
                json!({
                    "guid": guid.as_str(),
                    "command": match command {
                        essensys_core::alarm::AlarmCommand::Arm => "arm",
                        essensys_core::alarm::AlarmCommand::Disarm => "disarm",
                    },
                    "replaced": replaced.as_ref().map(|g| g.as_str()),
                }),
            )),
            EventKind::Refused { reason, .. } => {
                drafts.push(draft("refused", json!({ "reason": reason })));
            }
            EventKind::Delivered { guids, alarm, .. } => drafts.push(draft(
                "delivered",
                json!({
                    "guids": guids.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                    "alarm": alarm.as_ref().map(|g| g.as_str()),
                }),
            )),
            EventKind::Acked { guid, what, .. } => drafts.push(draft(
                "acked",
                json!({
                    "guid": guid.as_str(),
                    "what": match what {
                        Acked::Action(_) => "action",
                        Acked::Alarm => "alarm",
                        Acked::Unknown => "unknown",
                    },
                }),
            )),
            EventKind::DevicesAcknowledged { updates, .. } => {
                drafts.push(draft("devices", json!({ "devices": devices(updates) })));
            }
            EventKind::Reported { client, changes } => {
                for change in changes.iter().filter(|c| c.index == ALERTS) {
                    drafts.extend(self.alerts(client, at, change.new));
                }
                drafts.push(draft(
                    "reported",
                    json!({
                        "changes": changes.iter().map(|c| json!({"k": c.index.get(), "v": c.new.get().to_string()})).collect::<Vec<_>>(),
                    }),
                ));
            }
            EventKind::Garbled { errors, .. } => {
                drafts.push(draft("garbled", json!({ "errors": errors })));
            }
            EventKind::BoxRequest { .. }
            | EventKind::StoreFailed { .. }
            | EventKind::Timeout { .. }
            | EventKind::Rejected { .. }
            | EventKind::Api { .. } => {}
        }
        drafts
    }

    /// A box's request at `now`: `box_online` if it was not, `box_seen` now and then.
    fn seen(&mut self, client: &ClientId, at: Timestamp, now: Instant) -> Vec<Draft> {
        let presence = self.boxes.entry(client.clone()).or_insert(Presence {
            last_seen: now,
            last_at: at,
            last_seen_notice: None,
            online: false,
            alerts: None,
        });
        presence.last_seen = now;
        presence.last_at = at;
        let mut drafts = Vec::new();
        let draft = |kind| Draft {
            at,
            client: Some(client.clone()),
            kind,
            fields: json!({}),
        };
        if !presence.online {
            presence.online = true;
            drafts.push(draft("box_online"));
        }
        if presence
            .last_seen_notice
            .is_none_or(|last| now.duration_since(last) >= SEEN_EVERY)
        {
            presence.last_seen_notice = Some(now);
            drafts.push(draft("box_seen"));
        }
        drafts
    }

    /// Leak notices from a new value of cell 11: one per leak bit that changed.
    fn alerts(&mut self, client: &ClientId, at: Timestamp, new: Value) -> Vec<Draft> {
        let Some(presence) = self.boxes.get_mut(client) else {
            return Vec::new();
        };
        let old = presence.alerts.replace(new);
        [
            (Alert::WashingMachineLeak, "washing_machine"),
            (Alert::DishwasherLeak, "dishwasher"),
        ]
        .into_iter()
        .filter_map(|(alert, which)| {
            let raised = alert.raised(Some(new), None).unwrap_or(false);
            let was = alert.raised(old, None).unwrap_or(false);
            (raised != was).then(|| Draft {
                at,
                client: Some(client.clone()),
                kind: "leak",
                fields: json!({ "which": which, "raised": raised }),
            })
        })
        .collect()
    }

    /// `box_offline` for every box online and silent for the box timeout at `now`, dated when
    /// that timeout ran out.
    fn silences(&mut self, now: Instant) -> Vec<Draft> {
        let timeout = self.box_timeout;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.boxes
            .iter_mut()
            .filter(|(_, p)| p.online && now.duration_since(p.last_seen) >= timeout)
            .map(|(client, presence)| {
                presence.online = false;
                Draft {
                    at: Timestamp(presence.last_at.0.saturating_add(timeout_ms)),
                    client: Some(client.clone()),
                    kind: "box_offline",
                    fields: json!({}),
                }
            })
            .collect()
    }
}

/// `[{"id","label","kind","state"}]` of device updates.
fn devices(updates: &[DeviceUpdate]) -> Vec<Json> {
    updates
        .iter()
        .map(|u| {
            json!({
                "id": u.device.id,
                "label": u.device.label,
                "kind": u.device.kind.name(),
                "state": u.state.map(|s| crate::devices::state_word(u.device, s)),
            })
        })
        .collect()
}

/// `GET /api/v1/events[?client=ID]`: the notices as server-sent events (`id: N`, `event:
/// notice`, `data: <JSON>`), first the kept ones after the `Last-Event-ID` the client sends
/// (all of them without one), then each as it happens; a comment every 15 s keeps proxies from
/// closing a quiet stream. A stream that falls more than [`STREAM_LAG`] behind skips ahead
/// with an `event: lagged` whose data is how many it missed. It ends when the gateway stops.
pub(crate) async fn stream(
    axum::extract::State(state): axum::extract::State<crate::ApiState>,
    args: crate::extract::Args,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, crate::error::ApiError> {
    use axum::response::{
        sse::{Event as Sse, KeepAlive},
        IntoResponse,
    };
    let client = args.client()?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Subscription { missed, live } = state.live.subscribe(after);
    let message = |notice: &Notice| {
        Sse::default()
            .id(notice.id.to_string())
            .event("notice")
            .data(&notice.json)
    };
    let replay: Vec<Result<Sse, std::convert::Infallible>> = missed
        .iter()
        .filter(|n| n.concerns(client.as_ref()))
        .map(|n| Ok(message(n)))
        .collect();
    let follow = futures_util::stream::unfold(live, move |live| {
        let client = client.clone();
        async move {
            let mut live = live?;
            loop {
                match live.recv().await {
                    Ok(notice) if notice.concerns(client.as_ref()) => {
                        return Some((Ok(message(&notice)), Some(live)));
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let lagged = Sse::default().event("lagged").data(n.to_string());
                        return Some((Ok(lagged), Some(live)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    let events = futures_util::StreamExt::chain(futures_util::stream::iter(replay), follow);
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(15));
    let mut response = axum::response::sse::Sse::new(events)
        .keep_alive(keep_alive)
        .into_response();
    // Tell nginx not to buffer the stream.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use essensys_core::{
        action::Guid,
        catalog::{self, DeviceKind},
        merge::Enqueued,
        ports::Change,
    };

    use super::*;

    fn box_a() -> ClientId {
        ClientId::new("A").unwrap()
    }

    fn event(at: u64, kind: EventKind) -> Event {
        Event {
            at: Timestamp(at),
            kind,
        }
    }

    fn kinds(drafts: &[Draft]) -> Vec<&'static str> {
        drafts.iter().map(|d| d.kind).collect()
    }

    fn request(at: u64) -> Event {
        event(
            at,
            EventKind::BoxRequest {
                client: Some(box_a()),
                endpoint: essensys_core::event::BoxEndpoint::ServerInfos,
                status: 200,
                micros: 10,
            },
        )
    }

    #[test]
    fn a_box_comes_online_is_seen_now_and_then_and_goes_offline_after_the_timeout() {
        let mut t = Translator::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(
            kinds(&t.event(&request(1_000), start)),
            ["box_online", "box_seen"]
        );
        assert!(t
            .event(&request(2_000), start + Duration::from_secs(1))
            .is_empty());
        assert_eq!(
            kinds(&t.event(&request(7_000), start + SEEN_EVERY)),
            ["box_seen"]
        );
        let later = start + SEEN_EVERY;
        assert!(t.silences(later + Duration::from_secs(59)).is_empty());
        let offline = t.silences(later + Duration::from_secs(60));
        assert_eq!(kinds(&offline), ["box_offline"]);
        assert_eq!(
            offline[0].at,
            Timestamp(67_000),
            "dated when the timeout ran out"
        );
        assert!(
            t.silences(later + Duration::from_secs(120)).is_empty(),
            "said once"
        );
        let back = t.event(&request(200_000), later + Duration::from_secs(130));
        assert_eq!(kinds(&back), ["box_online", "box_seen"]);
    }

    #[test]
    fn a_queued_scene_names_what_it_will_do_to_each_device() {
        let mut t = Translator::new(Duration::from_secs(60));
        let lamp = catalog::device(DeviceKind::Light, "petite_chambre_3").unwrap();
        let order = essensys_core::Order::Devices(vec![essensys_core::order::DeviceOrder {
            device: lamp,
            switch: essensys_core::order::Switch::OnOrOpen,
        }]);
        let command = order.commands().unwrap().remove(0);
        let queued = event(
            5,
            EventKind::Queued {
                client: box_a(),
                enqueued: Enqueued {
                    guid: Guid::from_random(7),
                    merged: false,
                },
                command,
            },
        );
        let drafts = t.event(&queued, Instant::now());
        let notice = t.number(drafts.into_iter().last().unwrap());
        let line: Json = serde_json::from_str(&notice.json).unwrap();
        assert_eq!(line["type"], "queued");
        assert_eq!(line["client"], "A");
        assert_eq!(line["command"], "scene");
        assert_eq!(
            line["devices"],
            json!([{"id": "petite_chambre_3", "label": "Petite chambre 3", "kind": "light", "state": "on"}])
        );
        assert_eq!(line["params"][0], json!({"k": 590, "v": "1"}));
        assert_eq!(line["at"], "1970-01-01T00:00:00.005Z");
    }

    #[test]
    fn a_leak_bit_that_changes_is_a_leak_notice() {
        let mut t = Translator::new(Duration::from_secs(60));
        let report = |old: Option<u8>, new: u8| {
            event(
                9,
                EventKind::Reported {
                    client: box_a(),
                    changes: vec![Change {
                        index: ALERTS,
                        old: old.map(Value),
                        new: Value(new),
                    }],
                },
            )
        };
        let now = Instant::now();
        assert_eq!(
            kinds(&t.event(&report(None, 0), now)),
            ["box_online", "box_seen", "reported"]
        );
        let raised = t.event(&report(Some(0), 0b010), now);
        assert_eq!(kinds(&raised), ["leak", "reported"]);
        assert_eq!(
            raised[0].fields,
            json!({"which": "washing_machine", "raised": true})
        );
        let both = t.event(&report(Some(2), 0b100), now);
        assert_eq!(kinds(&both), ["leak", "leak", "reported"]);
        assert_eq!(
            both[0].fields,
            json!({"which": "washing_machine", "raised": false})
        );
        assert_eq!(
            both[1].fields,
            json!({"which": "dishwasher", "raised": true})
        );
    }

    #[tokio::test]
    async fn streams_get_the_kept_notices_after_their_last_id_then_the_live_ones() {
        let (live, sink, task) = Live::new(Duration::from_secs(60));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(task.run(stop_rx));
        use essensys_core::event::EventSink;
        let refused = |n: u64| {
            event(
                n,
                EventKind::Refused {
                    client: None,
                    reason: format!("no {n}"),
                },
            )
        };
        sink.publish(&refused(1));
        sink.publish(&refused(2));
        let mut waited = 0;
        while live.subscribe(None).missed.len() < 2 && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        let all = live.subscribe(None);
        let ids: Vec<u64> = all.missed.iter().map(|n| n.id).collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1], ids[0] + 1);
        assert!(
            ids[0] > 1_700_000_000_000_000,
            "from the start's microsecond: {ids:?}"
        );
        let mut after_one = live.subscribe(Some(ids[0]));
        let missed: Vec<u64> = after_one.missed.iter().map(|n| n.id).collect();
        assert_eq!(missed, [ids[1]]);
        sink.publish(&refused(3));
        let next = after_one.live.as_mut().unwrap().recv().await.unwrap();
        assert_eq!(next.id, ids[1] + 1);
        assert!(next.json.contains(r#""reason":"no 3""#));
        stop_tx.send(()).unwrap();
        running.await.unwrap();
        assert!(
            live.subscribe(None).live.is_none(),
            "streams end after shutdown"
        );
        assert!(matches!(
            after_one.live.unwrap().recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
    }

    #[test]
    fn a_stream_for_one_box_skips_the_others() {
        let of = |client: Option<&str>| Notice {
            id: 1,
            client: client.map(|c| ClientId::new(c).unwrap()),
            json: String::new(),
        };
        let a = box_a();
        assert!(of(Some("A")).concerns(Some(&a)));
        assert!(!of(Some("B")).concerns(Some(&a)));
        assert!(of(None).concerns(Some(&a)));
        assert!(of(Some("B")).concerns(None));
    }
}
