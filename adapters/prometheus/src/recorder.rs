//! [`Recorder`]: the gateway's events, counted for Prometheus.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use essensys_core::event::{Acked, BoxEndpoint, Event, EventKind, EventSink};

/// The upper bounds (seconds) of the box request duration histogram: a reply is built in tens
/// of microseconds; a slow store shows in the upper buckets.
pub const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0,
];

/// The most (route, status) pairs of the API kept; later pairs are counted under route `other`.
pub const MAX_ROUTES: usize = 256;

/// What happened to actions, the `event` label of `essensys_actions_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionEvent {
    /// An order was queued (each action, and each alarm order).
    Queued,
    /// Of the queued, those merged into an action already waiting.
    Merged,
    /// An action (or alarm order) handed to a box in a `myactions` reply; a resend counts again.
    Delivered,
    /// An action (or alarm order) the box acknowledged with `done`.
    Acked,
    /// An order refused before anything was queued.
    Refused,
}

impl ActionEvent {
    /// Every event, in exposition order.
    pub const ALL: [ActionEvent; 5] = [
        ActionEvent::Queued,
        ActionEvent::Merged,
        ActionEvent::Delivered,
        ActionEvent::Acked,
        ActionEvent::Refused,
    ];

    /// The label value.
    pub const fn name(self) -> &'static str {
        match self {
            ActionEvent::Queued => "queued",
            ActionEvent::Merged => "merged",
            ActionEvent::Delivered => "delivered",
            ActionEvent::Acked => "acked",
            ActionEvent::Refused => "refused",
        }
    }
}

/// A histogram of durations: a count per bucket (not cumulative), the total and the sum.
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, micros: u64) {
        let seconds = micros as f64 / 1e6;
        if let Some(slot) = BUCKETS.iter().position(|&le| seconds <= le) {
            self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The cumulative counts per bucket (without `+Inf`), the count and the sum in seconds.
    pub(crate) fn read(&self) -> ([u64; BUCKETS.len()], u64, f64) {
        let mut cumulative = [0; BUCKETS.len()];
        let mut total = 0;
        for (out, bucket) in cumulative.iter_mut().zip(&self.buckets) {
            total += bucket.load(Ordering::Relaxed);
            *out = total;
        }
        let count = self.count.load(Ordering::Relaxed).max(total);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        (cumulative, count, sum)
    }
}

/// The gateway's events, counted (relaxed atomics; one short lock for the API's route map).
#[derive(Debug, Default)]
pub struct Recorder {
    requests: [AtomicU64; 4],
    durations: [Histogram; 4],
    actions: [AtomicU64; 5],
    garbled: AtomicU64,
    store_errors: AtomicU64,
    routes: Mutex<BTreeMap<(Arc<str>, u16), u64>>,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Recorder {
    fn action(&self, event: ActionEvent, by: u64) {
        bump(&self.actions[event as usize], by);
    }

    /// Box requests answered at `endpoint`.
    pub fn requests(&self, endpoint: BoxEndpoint) -> u64 {
        self.requests[endpoint as usize].load(Ordering::Relaxed)
    }

    /// The duration histogram of `endpoint`.
    pub(crate) fn durations(&self, endpoint: BoxEndpoint) -> &Histogram {
        &self.durations[endpoint as usize]
    }

    /// How many actions had `event`.
    pub fn actions(&self, event: ActionEvent) -> u64 {
        self.actions[event as usize].load(Ordering::Relaxed)
    }

    /// Status reports with unreadable items.
    pub fn garbled(&self) -> u64 {
        self.garbled.load(Ordering::Relaxed)
    }

    /// Operations the state store failed.
    pub fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    /// The API's answers by (route, status), in order.
    pub fn routes(&self) -> Vec<(Arc<str>, u16, u64)> {
        self.lock_routes()
            .iter()
            .map(|((route, status), n)| (route.clone(), *status, *n))
            .collect()
    }

    fn lock_routes(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Arc<str>, u16), u64>> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn api(&self, route: &Arc<str>, status: u16) {
        let mut routes = self.lock_routes();
        let key = if routes.len() < MAX_ROUTES || routes.contains_key(&(route.clone(), status)) {
            (route.clone(), status)
        } else {
            (Arc::from("other"), status)
        };
        *routes.entry(key).or_default() += 1;
    }
}

impl EventSink for Recorder {
    fn publish(&self, event: &Event) {
        match &event.kind {
            EventKind::BoxRequest {
                endpoint, micros, ..
            } => {
                bump(&self.requests[*endpoint as usize], 1);
                self.durations[*endpoint as usize].observe(*micros);
            }
            EventKind::Garbled { .. } => bump(&self.garbled, 1),
            EventKind::Queued { enqueued, .. } => {
                self.action(ActionEvent::Queued, 1);
                if enqueued.merged {
                    self.action(ActionEvent::Merged, 1);
                }
            }
            EventKind::AlarmQueued { .. } => self.action(ActionEvent::Queued, 1),
            EventKind::Delivered { guids, alarm, .. } => self.action(
                ActionEvent::Delivered,
                guids.len() as u64 + u64::from(alarm.is_some()),
            ),
            EventKind::Acked { what, .. } => {
                if !matches!(what, Acked::Unknown) {
                    self.action(ActionEvent::Acked, 1);
                }
            }
            EventKind::Refused { .. } => self.action(ActionEvent::Refused, 1),
            EventKind::StoreFailed { .. } => bump(&self.store_errors, 1),
            EventKind::Api { route, status } => self.api(route, *status),
            EventKind::Reported { .. }
            | EventKind::DevicesAcknowledged { .. }
            | EventKind::Timeout { .. }
            | EventKind::Rejected { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use essensys_core::{merge::Enqueued, ports::Timestamp, ClientId, Guid};

    use super::*;

    fn publish(recorder: &Recorder, kind: EventKind) {
        recorder.publish(&Event {
            at: Timestamp(0),
            kind,
        });
    }

    #[test]
    fn durations_fall_in_their_buckets_cumulatively() {
        let recorder = Recorder::default();
        for micros in [50, 100, 700, 2_000_000, 9_000_000] {
            publish(
                &recorder,
                EventKind::BoxRequest {
                    client: None,
                    endpoint: BoxEndpoint::MyActions,
                    status: 200,
                    micros,
                },
            );
        }
        let (buckets, count, sum) = recorder.durations(BoxEndpoint::MyActions).read();
        assert_eq!(buckets[0], 2, "50 µs and 100 µs are ≤ 0.1 ms");
        assert_eq!(buckets[3], 3, "700 µs is ≤ 1 ms");
        assert_eq!(buckets[BUCKETS.len() - 1], 4, "9 s only in +Inf");
        assert_eq!(count, 5);
        assert!((sum - 11.00085).abs() < 1e-9, "{sum}");
        assert_eq!(recorder.requests(BoxEndpoint::MyActions), 5);
        assert_eq!(recorder.requests(BoxEndpoint::Done), 0);
    }

    #[test]
    fn actions_are_counted_by_what_happened() {
        let recorder = Recorder::default();
        let client = ClientId::default_box();
        let queued = |merged| EventKind::Queued {
            client: client.clone(),
            enqueued: Enqueued {
                guid: Guid::from_random(1),
                merged,
            },
            command: essensys_core::Order::Launch(2)
                .commands()
                .expect("slot 2")
                .remove(0),
        };
        publish(&recorder, queued(false));
        publish(&recorder, queued(true));
        publish(
            &recorder,
            EventKind::Delivered {
                client: client.clone(),
                guids: vec![Guid::from_random(1)],
                alarm: Some(Guid::from_random(2)),
            },
        );
        for what in [Acked::Alarm, Acked::Unknown] {
            publish(
                &recorder,
                EventKind::Acked {
                    client: client.clone(),
                    guid: Guid::from_random(2),
                    what,
                },
            );
        }
        let counts: Vec<u64> = ActionEvent::ALL.map(|e| recorder.actions(e)).into();
        assert_eq!(
            counts,
            [2, 1, 2, 1, 0],
            "queued, merged, delivered, acked, refused"
        );
    }

    #[test]
    fn api_routes_are_bounded() {
        let recorder = Recorder::default();
        for n in 0..MAX_ROUTES + 10 {
            let route: Arc<str> = format!("/r{n}").into();
            publish(&recorder, EventKind::Api { route, status: 200 });
        }
        publish(
            &recorder,
            EventKind::Api {
                route: "/r0".into(),
                status: 200,
            },
        );
        let routes = recorder.routes();
        assert_eq!(routes.len(), MAX_ROUTES + 1, "the cap and `other`");
        let other = routes
            .iter()
            .find(|(r, ..)| &**r == "other")
            .expect("other");
        assert_eq!(other.2, 10);
        let first = routes.iter().find(|(r, ..)| &**r == "/r0").expect("/r0");
        assert_eq!(first.2, 2, "a known pair still counts after the cap");
    }
}
