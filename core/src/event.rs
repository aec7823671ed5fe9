//! What happened: the one record every listener reads (MQTT, metrics, logs, the dashboard).
//!
//! Every [`Event`] carries when it happened and, where there is one, the box it concerns. The
//! [`crate::Gateway`] publishes the domain's events (reports, orders, deliveries, acks, store
//! failures) and stamps the ones the transport adapters hand it through
//! [`crate::Gateway::publish`] (box requests with their duration, timeouts, refused
//! connections), so that counters, metrics and the Home Assistant bridge all read one source.
//!
//! [`EventSink::publish`] sits on the box's hot path: it must return at once. [`FanOut`] hands
//! each event to several sinks in turn; a sink that feeds an asynchronous listener does so
//! through a bounded channel that drops (and counts) rather than waits.

use std::{net::IpAddr, sync::Arc};

use crate::{
    action::{Action, Command, Guid},
    alarm::AlarmCommand,
    client::ClientId,
    merge::Enqueued,
    ports::{Change, Timestamp},
    state::DeviceUpdate,
};

/// One of the box's four endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoxEndpoint {
    /// `GET /api/serverinfos`.
    ServerInfos,
    /// `POST /api/mystatus`.
    MyStatus,
    /// `GET /api/myactions`.
    MyActions,
    /// `POST /api/done/<guid>`.
    Done,
}

impl BoxEndpoint {
    /// Every endpoint, in the order of the box's cycle.
    pub const ALL: [BoxEndpoint; 4] = [
        BoxEndpoint::ServerInfos,
        BoxEndpoint::MyStatus,
        BoxEndpoint::MyActions,
        BoxEndpoint::Done,
    ];

    /// The endpoint's name as in its path: `serverinfos`, `mystatus`, `myactions`, `done`.
    pub const fn name(self) -> &'static str {
        match self {
            BoxEndpoint::ServerInfos => "serverinfos",
            BoxEndpoint::MyStatus => "mystatus",
            BoxEndpoint::MyActions => "myactions",
            BoxEndpoint::Done => "done",
        }
    }
}

/// What a box's `done` acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acked {
    /// A queued action, now removed.
    Action(Action),
    /// The pending `_de67f` alarm order, now removed.
    Alarm,
    /// Nothing queued under that guid (a repeated ack, or one for a replaced order).
    Unknown,
}

/// Something that happened, when, and to which box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// The box the event concerns, if it concerns one.
    pub fn client(&self) -> Option<&ClientId> {
        match &self.kind {
            EventKind::BoxRequest { client, .. }
            | EventKind::Refused { client, .. }
            | EventKind::StoreFailed { client, .. } => client.as_ref(),
            EventKind::Reported { client, .. }
            | EventKind::Garbled { client, .. }
            | EventKind::Queued { client, .. }
            | EventKind::AlarmQueued { client, .. }
            | EventKind::Delivered { client, .. }
            | EventKind::Acked { client, .. }
            | EventKind::DevicesAcknowledged { client, .. } => Some(client),
            EventKind::Timeout { .. } | EventKind::Rejected { .. } | EventKind::Api { .. } => None,
        }
    }
}

/// The kinds of [`Event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A box request was answered (whatever the store did): the box is alive.
    BoxRequest {
        /// The box, `None` when it was refused before being identified.
        client: Option<ClientId>,
        /// Which endpoint.
        endpoint: BoxEndpoint,
        /// The reply's status code.
        status: u16,
        /// How long answering took, in microseconds, from the whole request read to the reply
        /// built.
        micros: u64,
    },
    /// A box reported values that changed.
    Reported {
        /// The box.
        client: ClientId,
        /// What changed.
        changes: Vec<Change>,
    },
    /// A box's status body could not be read completely (what could be read was stored).
    Garbled {
        /// The box.
        client: ClientId,
        /// What was wrong.
        errors: Vec<String>,
    },
    /// An order was queued.
    Queued {
        /// The box.
        client: ClientId,
        /// Where it went.
        enqueued: Enqueued,
        /// What it does.
        command: Command,
    },
    /// An alarm order was queued for the box's next `myactions`.
    AlarmQueued {
        /// The box.
        client: ClientId,
        /// Its guid.
        guid: Guid,
        /// Arm or disarm.
        command: AlarmCommand,
        /// The guid of the unacknowledged alarm order it replaced, if any.
        replaced: Option<Guid>,
    },
    /// An order was refused: nothing of it was queued.
    Refused {
        /// The box it was for, when known.
        client: Option<ClientId>,
        /// Why.
        reason: String,
    },
    /// Actions (and maybe the alarm order) were handed to a box.
    Delivered {
        /// The box.
        client: ClientId,
        /// The actions' guids.
        guids: Vec<Guid>,
        /// The alarm order's guid, if one was sent.
        alarm: Option<Guid>,
    },
    /// A box acknowledged a guid with `done`.
    Acked {
        /// The box.
        client: ClientId,
        /// The guid it acked.
        guid: Guid,
        /// What that guid was.
        what: Acked,
    },
    /// A box's `done` settled the state of lights and shutters (see [`crate::state`]).
    DevicesAcknowledged {
        /// The box.
        client: ClientId,
        /// The devices whose acknowledged state is now known.
        updates: Vec<DeviceUpdate>,
    },
    /// A state store operation failed (the box still got its reply).
    StoreFailed {
        /// The box it was for, when known.
        client: Option<ClientId>,
        /// What was being done: `record poll`, `apply report`, `deliver`, `ack`, `queue order`…
        operation: &'static str,
        /// The error.
        error: String,
    },
    /// A connection was closed because its request did not arrive in time.
    Timeout {
        /// The peer.
        peer: IpAddr,
    },
    /// A request was refused before reaching a handler (malformed, too large, unknown box).
    Rejected {
        /// The peer.
        peer: IpAddr,
        /// The status answered.
        status: u16,
        /// Why.
        reason: String,
    },
    /// A request of the HTTP API (not the box's) was answered.
    Api {
        /// The route's pattern, e.g. `/api/v1/lights/{id}`, or `unmatched`.
        route: Arc<str>,
        /// The status answered.
        status: u16,
    },
}

/// Where events go. `publish` must return at once (queue, count, drop with a log): it is called
/// on the box's hot path.
pub trait EventSink: Send + Sync + 'static {
    /// Hands over one event.
    fn publish(&self, event: &Event);
}

/// An event sink that discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _event: &Event) {}
}

/// Hands each event to every sink, in order. Each sink must itself return at once.
#[derive(Clone, Default)]
pub struct FanOut(Vec<Arc<dyn EventSink>>);

impl FanOut {
    /// A fan-out to no sink yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a listener.
    pub fn with(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.0.push(sink);
        self
    }

    /// How many sinks it feeds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it feeds no sink.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl EventSink for FanOut {
    fn publish(&self, event: &Event) {
        for sink in &self.0 {
            sink.publish(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Count(Mutex<usize>);

    impl EventSink for Count {
        fn publish(&self, _event: &Event) {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }

    #[test]
    fn fan_out_reaches_every_sink() {
        let (a, b) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let fan = FanOut::new().with(a.clone()).with(b.clone());
        let event = Event {
            at: Timestamp(1),
            kind: EventKind::Timeout {
                peer: IpAddr::from([127, 0, 0, 1]),
            },
        };
        fan.publish(&event);
        fan.publish(&event);
        assert_eq!(fan.len(), 2);
        assert_eq!(*a.0.lock().unwrap_or_else(|p| p.into_inner()), 2);
        assert_eq!(*b.0.lock().unwrap_or_else(|p| p.into_inner()), 2);
        assert_eq!(event.client(), None);
    }
}
