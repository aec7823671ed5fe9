//! [`Counters`]: what happened, counted, for `/debug`.

use std::sync::atomic::{AtomicU64, Ordering};

use essensys_core::event::{BoxEndpoint, Event, EventKind, EventSink};

/// Counts of the gateway's events (relaxed atomics: no lock on the hot path).
#[derive(Debug, Default)]
pub struct Counters {
    requests: [AtomicU64; 4],
    garbled_status: AtomicU64,
    actions_sent: AtomicU64,
    alarm_orders_sent: AtomicU64,
    acks: AtomicU64,
    orders_queued: AtomicU64,
    orders_refused: AtomicU64,
    api: AtomicU64,
    rejected: AtomicU64,
    timeouts: AtomicU64,
    store_errors: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    /// Box requests answered at `endpoint`.
    pub fn requests(&self, endpoint: BoxEndpoint) -> u64 {
        self.requests[endpoint as usize].load(Ordering::Relaxed)
    }

    /// Every counter with its name, for `/debug`.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out: Vec<(&'static str, u64)> = BoxEndpoint::ALL
            .iter()
            .map(|&e| (e.name(), self.requests(e)))
            .collect();
        out.extend([
            ("garbled_status", read(&self.garbled_status)),
            ("actions_sent", read(&self.actions_sent)),
            ("alarm_orders_sent", read(&self.alarm_orders_sent)),
            ("acks", read(&self.acks)),
            ("orders_queued", read(&self.orders_queued)),
            ("orders_refused", read(&self.orders_refused)),
            ("api", read(&self.api)),
            ("rejected", read(&self.rejected)),
            ("timeouts", read(&self.timeouts)),
            ("store_errors", read(&self.store_errors)),
        ]);
        out
    }
}

impl EventSink for Counters {
    fn publish(&self, event: &Event) {
        match &event.kind {
            EventKind::BoxRequest { endpoint, .. } => bump(&self.requests[*endpoint as usize], 1),
            EventKind::Garbled { .. } => bump(&self.garbled_status, 1),
            EventKind::Delivered { guids, alarm, .. } => {
                bump(&self.actions_sent, guids.len() as u64);
                bump(&self.alarm_orders_sent, u64::from(alarm.is_some()));
            }
            EventKind::Acked { .. } => bump(&self.acks, 1),
            EventKind::Queued { .. } | EventKind::AlarmQueued { .. } => {
                bump(&self.orders_queued, 1)
            }
            EventKind::Refused { .. } => bump(&self.orders_refused, 1),
            EventKind::Api { .. } => bump(&self.api, 1),
            EventKind::Rejected { .. } => bump(&self.rejected, 1),
            EventKind::Timeout { .. } => bump(&self.timeouts, 1),
            EventKind::StoreFailed { .. } => bump(&self.store_errors, 1),
            EventKind::Reported { .. } | EventKind::DevicesAcknowledged { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use essensys_core::{ports::Timestamp, ClientId, Guid};

    use super::*;

    #[test]
    fn events_are_counted_by_kind() {
        let counters = Counters::default();
        let at = Timestamp(0);
        let request = |endpoint| Event {
            at,
            kind: EventKind::BoxRequest {
                client: None,
                endpoint,
                status: 200,
                micros: 10,
            },
        };
        counters.publish(&request(BoxEndpoint::MyActions));
        counters.publish(&request(BoxEndpoint::MyActions));
        counters.publish(&request(BoxEndpoint::Done));
        counters.publish(&Event {
            at,
            kind: EventKind::Delivered {
                client: ClientId::default_box(),
                guids: vec![Guid::from_random(1), Guid::from_random(2)],
                alarm: Some(Guid::from_random(3)),
            },
        });
        let snapshot = counters.snapshot();
        let get = |name: &str| snapshot.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert_eq!(get("myactions"), Some(2));
        assert_eq!(get("done"), Some(1));
        assert_eq!(get("serverinfos"), Some(0));
        assert_eq!(get("actions_sent"), Some(2));
        assert_eq!(get("alarm_orders_sent"), Some(1));
    }
}
