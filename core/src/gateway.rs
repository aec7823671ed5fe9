//! The use cases: what the gateway does for a box and for the people and programs around it.
//!
//! [`Gateway`] is the one service every adapter calls. The legacy HTTP server calls
//! [`Gateway::server_infos`], [`Gateway::report_status`], [`Gateway::poll_actions`] and
//! [`Gateway::ack`] for the box; the admin API, the dashboard, Home Assistant and MCP call
//! [`Gateway::inject`] — the only way an action is ever queued — and the read methods.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use thiserror::Error;

use crate::{
    action::Guid,
    cell::{Index, Param, Value},
    client::ClientId,
    merge::{Enqueued, Queued},
    order::{Order, OrderError},
    ports::{
        ActionQueue, ClientInfo, Clock, Contact, Event, EventSink, ExchangeStore, GuidSource,
        PortError, Sample,
    },
    reply::{self, ServerInfos, MAX_INFOS},
    status::{self, StatusError},
};

/// The cells asked for by default, over successive cycles: versions, clock, status and alerts;
/// heating, water heater, holidays and watering; alarm state; meter; scenarios; box state.
pub const DEFAULT_WATCH: &[u16] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // versions, clock, status, alerts
    349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362,
    363, // heating..watering
    406, 407, 408, 409, 410, 411, 412, 413, 414, 415, // alarm
    459, 461, 463, 464, // load shedding, meter period and power
    590, 591, 920, 921, 943, 944, 945, // scenarios, box state, inputs, ethernet
];

/// How the gateway answers boxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// The `isconnected` answer: `true` makes boxes poll every 2 s instead of 5 s, so orders
    /// are felt sooner.
    pub connected: bool,
    /// The cells boxes are asked to report, 30 per cycle, rotating through the list.
    pub watch: Vec<Index>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            connected: true,
            watch: DEFAULT_WATCH
                .iter()
                .filter_map(|&i| Index::new(i).ok())
                .collect(),
        }
    }
}

/// The adapters a [`Gateway`] runs on.
#[derive(Clone)]
pub struct Ports {
    /// Tables, history, contacts.
    pub store: Arc<dyn ExchangeStore>,
    /// Action queues.
    pub queue: Arc<dyn ActionQueue>,
    /// Where events go.
    pub events: Arc<dyn EventSink>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Action ids.
    pub guids: Arc<dyn GuidSource>,
}

/// What a status report gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusOutcome {
    /// How many cells were stored.
    pub stored: usize,
    /// What could not be read (the box still gets its 201).
    pub errors: Vec<StatusError>,
}

/// What an injected order became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// The box it was queued for.
    pub client: ClientId,
    /// One entry per action, in order.
    pub enqueued: Vec<Enqueued>,
}

/// Why an order was not queued. Nothing of it was queued.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum InjectError {
    /// The order itself is invalid.
    #[error(transparent)]
    Refused(#[from] OrderError),
    /// No box named, and none has connected yet.
    #[error("no box has connected yet: an order can only be queued for a box that has polled the gateway")]
    NoBox,
    /// No box named, and several are known.
    #[error("several boxes are connected ({}): say which one with `client`", .0.join(", "))]
    SeveralBoxes(Vec<String>),
    /// The state store failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The gateway's use cases, on its ports. Cheap to share behind an `Arc`.
pub struct Gateway {
    ports: Ports,
    /// The `serverinfos` replies, one per window of watched cells (never empty).
    windows: Vec<ServerInfos>,
    /// Next window per box. A std mutex: held for a map lookup, never across an await.
    rotation: Mutex<HashMap<ClientId, usize>>,
}

impl Gateway {
    /// A gateway on `ports`.
    pub fn new(ports: Ports, config: GatewayConfig) -> Self {
        let mut windows: Vec<ServerInfos> = config
            .watch
            .chunks(MAX_INFOS)
            .filter_map(|w| ServerInfos::new(config.connected, w.to_vec()).ok())
            .collect();
        if windows.is_empty() {
            windows.push(ServerInfos::empty(config.connected));
        }
        Self {
            ports,
            windows,
            rotation: Mutex::new(HashMap::new()),
        }
    }

    /// The ports, for adapters that need direct reads.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// `GET /api/serverinfos`: records the poll and appends the reply body to `out`, asking for
    /// the next window of watched cells.
    pub async fn server_infos(
        &self,
        client: &ClientId,
        contact: &Contact,
        out: &mut Vec<u8>,
    ) -> Result<(), PortError> {
        let window = self.next_window(client);
        self.windows[window].encode(out);
        self.ports.store.record_poll(client, contact).await
    }

    fn next_window(&self, client: &ClientId) -> usize {
        let count = self.windows.len();
        let mut rotation = self
            .rotation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match rotation.get_mut(client) {
            Some(next) => {
                let window = *next % count;
                *next = (window + 1) % count;
                window
            }
            None => {
                rotation.insert(client.clone(), 1 % count);
                0
            }
        }
    }

    /// `POST /api/mystatus`: stores every cell that could be read from `body` and reports what
    /// could not. The box must get its 201 whatever this returns.
    pub async fn report_status(
        &self,
        client: &ClientId,
        contact: &Contact,
        body: &[u8],
    ) -> Result<StatusOutcome, PortError> {
        let report = status::parse_lenient(body);
        if !report.errors.is_empty() {
            let errors = report.errors.iter().map(ToString::to_string).collect();
            self.ports.events.publish(&Event::Garbled {
                client: client.clone(),
                errors,
            });
        }
        let changes = self
            .ports
            .store
            .apply_report(client, contact, report.version, &report.params)
            .await?;
        if !changes.is_empty() {
            self.ports.events.publish(&Event::Reported {
                client: client.clone(),
                changes,
            });
        }
        Ok(StatusOutcome {
            stored: report.params.len(),
            errors: report.errors,
        })
    }

    /// `GET /api/myactions`: appends to `out` a body with as many whole pending actions as fit
    /// in `budget` bytes (oldest first), marks them sent and returns their guids. The rest wait
    /// for the next poll; sent actions are sent again until acked.
    pub async fn poll_actions(
        &self,
        client: &ClientId,
        budget: usize,
        out: &mut Vec<u8>,
    ) -> Result<Vec<Guid>, PortError> {
        let room = reply::action_room(None, budget);
        let actions = self.ports.queue.deliver(client, room).await?;
        let packed = reply::encode_actions(out, None, &actions, budget);
        let guids: Vec<Guid> = actions.into_iter().take(packed).map(|a| a.guid).collect();
        if !guids.is_empty() {
            self.ports.events.publish(&Event::Delivered {
                client: client.clone(),
                guids: guids.clone(),
            });
        }
        Ok(guids)
    }

    /// `POST /api/done/<guid>`: removes the action. Returns whether it was still queued; an
    /// unknown, repeated or malformed guid is not an error (the box must get its 201).
    pub async fn ack(&self, client: &ClientId, guid: &str) -> Result<bool, PortError> {
        let Ok(guid) = Guid::new(guid) else {
            return Ok(false);
        };
        let known = self.ports.queue.ack(client, &guid).await?;
        self.ports.events.publish(&Event::Acked {
            client: client.clone(),
            guid,
            known,
        });
        Ok(known)
    }

    /// Validates `order`, expands it, merges it where safe and queues it for `client` (or, when
    /// `None`, for the only box seen so far). The one way anything is queued for a box.
    pub async fn inject(
        &self,
        client: Option<&ClientId>,
        order: &Order,
    ) -> Result<Injected, InjectError> {
        let commands = order.commands().inspect_err(|e| {
            self.ports.events.publish(&Event::Refused {
                reason: e.to_string(),
            });
        })?;
        let client = match client {
            Some(client) => client.clone(),
            None => self.only_client().await?,
        };
        let with_guids: Vec<_> = commands
            .into_iter()
            .map(|c| (c, self.ports.guids.next_guid()))
            .collect();
        let enqueued = self.ports.queue.push(&client, with_guids.clone()).await?;
        for ((command, _), enqueued) in with_guids.into_iter().zip(&enqueued) {
            let event = Event::Queued {
                client: client.clone(),
                enqueued: enqueued.clone(),
                command,
            };
            self.ports.events.publish(&event);
        }
        Ok(Injected { client, enqueued })
    }

    /// The box an order without `client` is for: the only one seen so far.
    pub async fn only_client(&self) -> Result<ClientId, InjectError> {
        let clients = self.ports.store.clients().await?;
        match clients.as_slice() {
            [] => Err(InjectError::NoBox),
            [one] => Ok(one.id.clone()),
            many => Err(InjectError::SeveralBoxes(
                many.iter().map(|c| c.id.to_string()).collect(),
            )),
        }
    }

    /// The last reported value of each of `indices`.
    pub async fn read_values(
        &self,
        client: &ClientId,
        indices: &[Index],
    ) -> Result<Vec<(Index, Option<Value>)>, PortError> {
        let values = self.ports.store.values(client, indices).await?;
        Ok(indices.iter().copied().zip(values).collect())
    }

    /// Every cell `client` ever reported.
    pub async fn table(&self, client: &ClientId) -> Result<Vec<Param>, PortError> {
        self.ports.store.table(client).await
    }

    /// The recent values of one cell.
    pub async fn history(&self, client: &ClientId, index: Index) -> Result<Vec<Sample>, PortError> {
        self.ports.store.history(client, index).await
    }

    /// Every box seen.
    pub async fn clients(&self) -> Result<Vec<ClientInfo>, PortError> {
        self.ports.store.clients().await
    }

    /// The actions waiting for `client`, oldest first.
    pub async fn pending(&self, client: &ClientId) -> Result<Vec<Queued>, PortError> {
        self.ports.queue.pending(client).await
    }
}
