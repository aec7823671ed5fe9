//! [`channel`]: a bounded channel from the hot path to an asynchronous listener.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use essensys_core::event::{Event, EventSink};
use tokio::sync::mpsc::{self, error::TrySendError};

/// The sending half: an [`EventSink`] that never waits. A full channel drops the event, counts
/// it and logs (the first drop, then every 1 000th).
pub struct ChannelSink {
    name: &'static str,
    tx: mpsc::Sender<Event>,
    wanted: Box<dyn Fn(&Event) -> bool + Send + Sync>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for ChannelSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSink")
            .field("name", &self.name)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// A sink feeding the listener `name` through a channel of `capacity` events, passing only the
/// events `wanted` accepts (so that a listener pays nothing for what it ignores: `wanted` runs
/// on the hot path and must be cheap), and the receiver the listener reads.
pub fn channel(
    name: &'static str,
    capacity: usize,
    wanted: impl Fn(&Event) -> bool + Send + Sync + 'static,
) -> (ChannelSink, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let sink = ChannelSink {
        name,
        tx,
        wanted: Box::new(wanted),
        dropped: Arc::new(AtomicU64::new(0)),
    };
    (sink, rx)
}

impl ChannelSink {
    /// Events dropped so far because the listener was behind (or gone).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// A counter that reads [`ChannelSink::dropped`] after the sink has moved into a fan-out.
    pub fn dropped_counter(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }
}

impl EventSink for ChannelSink {
    fn publish(&self, event: &Event) {
        if !(self.wanted)(event) {
            return;
        }
        match self.tx.try_send(event.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_multiple_of(1000) {
                    tracing::warn!(
                        listener = self.name,
                        dropped = n,
                        "event listener is behind: events dropped (the box is not slowed)"
                    );
                }
            }
            Err(TrySendError::Closed(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use essensys_core::{event::EventKind, ports::Timestamp};

    use super::*;

    fn timeout() -> Event {
        Event {
            at: Timestamp(0),
            kind: EventKind::Timeout {
                peer: IpAddr::from([127, 0, 0, 1]),
            },
        }
    }

    #[test]
    fn a_full_channel_drops_and_counts_instead_of_waiting() {
        let (sink, mut rx) = channel("test", 2, |_| true);
        for _ in 0..5 {
            sink.publish(&timeout());
        }
        assert_eq!(sink.dropped(), 3);
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err());
        sink.publish(&timeout());
        assert!(rx.try_recv().is_ok(), "room again once read");
    }

    #[test]
    fn unwanted_events_are_not_sent() {
        let (sink, mut rx) = channel("test", 2, |e| !matches!(e.kind, EventKind::Timeout { .. }));
        sink.publish(&timeout());
        assert!(rx.try_recv().is_err());
        assert_eq!(sink.dropped(), 0);
    }
}
