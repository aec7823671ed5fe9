//! The use cases: what the gateway does for a box and for the people and programs around it.
//!
//! [`Gateway`] is the one service every adapter calls. The legacy HTTP server calls
//! [`Gateway::server_infos`], [`Gateway::report_status`], [`Gateway::poll_actions`] and
//! [`Gateway::ack`] for the box; the admin API, the dashboard, Home Assistant and MCP call
//! [`Gateway::inject`] — the only way an action is ever queued — [`Gateway::alarm`] for the
//! `_de67f` alarm order, and the read methods.
//!
//! Every use case publishes what happened as an [`Event`] stamped by the [`Clock`]; transport
//! adapters hand theirs (request durations, timeouts, refusals) to [`Gateway::publish`], so one
//! sink sees everything.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use thiserror::Error;

use crate::{
    action::Guid,
    alarm::{self, AlarmCommand, AlarmError},
    cell::{Index, Param, Value},
    client::ClientId,
    event::{Acked, Event, EventKind, EventSink},
    house::{AlarmState, ALARM_PROGRESS, ALARM_REMOTE_ACCESS, BOX_STATE},
    matricule::{Key, Pin},
    merge::{Enqueued, Queued},
    order::{Order, OrderError},
    ports::{
        ActionQueue, ClientInfo, Clock, Contact, ExchangeStore, GuidSource, PortError, Sample,
        Timestamp,
    },
    reply::{self, AlarmOrder, ServerInfos, MAX_INFOS},
    state::{self, DeviceState},
    status::{self, StatusError},
};

/// The cells asked for by default, over successive cycles: versions, clock, status and alerts;
/// heating, water heater, holidays and watering; alarm state; meter; scenarios; box state.
pub const DEFAULT_WATCH: &[u16] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // versions, clock, status, alerts
    349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362,
    363, // heating..watering
    406, 407, 408, 409, 410, 411, 412, 413, 414, 415, // alarm
    459, 461, 463, 464, 465, 466, 477, 478, // load shedding, meter period, power, energy
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
    /// The 32-digit keys of the boxes the gateway knows: alarm orders can only be encrypted
    /// for these.
    pub box_keys: Vec<Key>,
    /// The most actions waiting for one box: an order for a box with this many waiting is
    /// refused (retry later), so a silent box's queue cannot grow without end.
    pub max_pending: usize,
}

/// The most boxes whose place in the watch rotation is remembered; beyond, all start over.
pub const MAX_ROTATIONS: usize = 4096;

/// The default [`GatewayConfig::max_pending`].
pub const MAX_PENDING: usize = 64;

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            connected: true,
            watch: DEFAULT_WATCH
                .iter()
                .filter_map(|&i| Index::new(i).ok())
                .collect(),
            box_keys: Vec::new(),
            max_pending: MAX_PENDING,
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
    /// The box already has the most actions waiting; nothing of the order was queued.
    #[error("box {client} has {pending} actions waiting (the most is {limit}): retry once it has polled and caught up")]
    QueueFull {
        /// The box.
        client: ClientId,
        /// Its waiting actions.
        pending: usize,
        /// [`GatewayConfig::max_pending`].
        limit: usize,
    },
    /// The alarm order cannot be given.
    #[error(transparent)]
    Alarm(#[from] AlarmRefusal),
    /// The state store failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Why an alarm order was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AlarmRefusal {
    /// The order is encrypted with the box's key, which the gateway was not given.
    #[error("the gateway does not know the 32-digit key of box {0}: alarm orders are encrypted with it; start the gateway with --box-key KEY for this box")]
    NoKey(ClientId),
    /// The keypad does not allow remote alarm orders (cell 407 = 0).
    #[error("box {0} does not allow remote alarm orders (cell 407 Alarme_AccesADistance is 0): allow remote access on the alarm keypad first")]
    RemoteAccessOff(ClientId),
    /// The clock cannot give the local time the order carries.
    #[error("the alarm order needs the local time: {0}")]
    Clock(#[from] AlarmError),
}

/// What an alarm order became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmQueued {
    /// The box.
    pub client: ClientId,
    /// The order's guid, acked by the box with `done`.
    pub guid: Guid,
    /// The pending order it replaced, if any.
    pub replaced: Option<Guid>,
}

/// The alarm of one box as the gateway knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmStatus {
    /// The box.
    pub client: ClientId,
    /// Its state from cells 920 and 413, `None` if neither was reported.
    pub state: Option<AlarmState>,
    /// Cell 407: whether the keypad allows remote orders, `None` if not reported.
    pub remote_access: Option<bool>,
    /// Whether the gateway knows the box's key (needed to give an order).
    pub key_known: bool,
    /// The order waiting for the box's `done`: its guid and, when the key decrypts it, what it
    /// asks.
    pub pending: Option<(Guid, Option<AlarmCommand>)>,
}

/// The gateway's use cases, on its ports. Cheap to share behind an `Arc`.
pub struct Gateway {
    ports: Ports,
    /// The keys of the boxes the gateway knows (alarm orders).
    box_keys: Vec<Key>,
    /// The most actions waiting per box.
    max_pending: usize,
    /// The `serverinfos` replies, one per window of watched cells (never empty).
    windows: Vec<ServerInfos>,
    /// Next window per box. A std mutex: held for a map lookup, never across an await.
    rotation: Mutex<HashMap<ClientId, usize>>,
    /// The pins seen to match, so that a box's requests cost no store round trip for it.
    pins: Mutex<HashMap<ClientId, Pin>>,
}

/// Why a box request was refused by its pin.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("box {0} is pinned to another matricule (the password half differs from the one first seen): if the box was replaced or re-keyed, forget its pin with POST /api/admin/clients/{0}/forget")]
pub struct PinMismatch(pub ClientId);

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
            box_keys: config.box_keys,
            max_pending: config.max_pending,
            windows,
            rotation: Mutex::new(HashMap::new()),
            pins: Mutex::new(HashMap::new()),
        }
    }

    /// Now, by the gateway's clock.
    pub fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    /// Stamps `kind` with the clock and hands it to the event sink (returns at once). Transport
    /// adapters publish their events (requests answered, timeouts, refusals) through this.
    pub fn publish(&self, kind: EventKind) {
        self.ports.events.publish(&Event {
            at: self.now(),
            kind,
        });
    }

    /// Publishes a store failure and gives the error back.
    fn failed(
        &self,
        client: Option<&ClientId>,
        operation: &'static str,
        error: PortError,
    ) -> PortError {
        self.publish(EventKind::StoreFailed {
            client: client.cloned(),
            operation,
            error: error.to_string(),
        });
        error
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
        self.ports
            .store
            .record_poll(client, contact)
            .await
            .map_err(|e| self.failed(Some(client), "record poll", e))
    }

    /// Open mode's trust on first use: the first matricule seen for `client` pins its password
    /// half; a later request with another one is refused. A matching pin is remembered, so a
    /// box's requests cost no store round trip for it after the first. When the store cannot
    /// answer, the request is let through (the box must be served during an outage) and the
    /// pin is checked again later.
    pub async fn check_pin(&self, client: &ClientId, pin: &Pin) -> Result<(), PinMismatch> {
        let lock = || self.pins.lock().unwrap_or_else(|p| p.into_inner());
        if lock().get(client) == Some(pin) {
            return Ok(());
        }
        match self.ports.store.pin(client, pin).await {
            Ok(true) => {
                let mut pins = lock();
                if pins.len() >= MAX_ROTATIONS {
                    pins.clear();
                }
                pins.insert(client.clone(), *pin);
                Ok(())
            }
            Ok(false) => {
                let refusal = PinMismatch(client.clone());
                self.publish(EventKind::Refused {
                    client: Some(client.clone()),
                    reason: refusal.to_string(),
                });
                Err(refusal)
            }
            Err(e) => {
                self.failed(Some(client), "check pin", e);
                Ok(())
            }
        }
    }

    /// Forgets `client`'s pin (the box was replaced or re-keyed): the next matricule seen for
    /// it is trusted.
    pub async fn forget_pin(&self, client: &ClientId) -> Result<(), PortError> {
        self.ports
            .store
            .forget_pin(client)
            .await
            .map_err(|e| self.failed(Some(client), "forget pin", e))?;
        self.pins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(client);
        Ok(())
    }

    /// Forgets the boxes that have not polled for `silent_ms` and have nothing waiting (no
    /// action, no alarm order): a box registry does not grow without end with boxes long gone.
    /// Returns those forgotten; a box that polls again is seen anew.
    pub async fn forget_silent(&self, silent_ms: u64) -> Result<Vec<ClientId>, PortError> {
        let now = self.now();
        let mut forgotten = Vec::new();
        for info in self.ports.store.clients().await? {
            if now.0.saturating_sub(info.last_seen.0) < silent_ms {
                continue;
            }
            let idle = self.ports.queue.pending(&info.id).await?.is_empty()
                && self.ports.queue.pending_alarm(&info.id).await?.is_none();
            if idle {
                self.ports.store.forget_box(&info.id).await?;
                self.lock_rotation().remove(&info.id);
                self.pins
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&info.id);
                forgotten.push(info.id);
            }
        }
        Ok(forgotten)
    }

    fn lock_rotation(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, usize>> {
        self.rotation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_window(&self, client: &ClientId) -> usize {
        let count = self.windows.len();
        let mut rotation = self.lock_rotation();
        match rotation.get_mut(client) {
            Some(next) => {
                let window = *next % count;
                *next = (window + 1) % count;
                window
            }
            None => {
                if rotation.len() >= MAX_ROTATIONS {
                    // bounded memory for any number of box ids: boxes start over at window 0
                    rotation.clear();
                }
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
            self.publish(EventKind::Garbled {
                client: client.clone(),
                errors,
            });
        }
        let changes = self
            .ports
            .store
            .apply_report(client, contact, report.version, &report.params)
            .await
            .map_err(|e| self.failed(Some(client), "apply report", e))?;
        if !changes.is_empty() {
            self.publish(EventKind::Reported {
                client: client.clone(),
                changes,
            });
        }
        Ok(StatusOutcome {
            stored: report.params.len(),
            errors: report.errors,
        })
    }

    /// `GET /api/myactions`: appends to `out` a body with the pending alarm order, if any, and
    /// as many whole pending actions as fit in `budget` bytes (oldest first), marks them sent
    /// and returns their guids (the alarm order's last). The rest wait for the next poll; sent
    /// orders are sent again until acked.
    pub async fn poll_actions(
        &self,
        client: &ClientId,
        budget: usize,
        out: &mut Vec<u8>,
    ) -> Result<Vec<Guid>, PortError> {
        let room = reply::action_room(None, budget);
        let delivery = self
            .ports
            .queue
            .deliver(client, room)
            .await
            .map_err(|e| self.failed(Some(client), "deliver", e))?;
        let alarm = delivery.alarm.as_ref();
        let packed = reply::encode_actions(out, alarm, &delivery.actions, budget);
        let mut guids: Vec<Guid> = delivery
            .actions
            .into_iter()
            .take(packed)
            .map(|a| a.guid)
            .collect();
        let alarm_guid = delivery.alarm.map(|a| a.guid().clone());
        if !guids.is_empty() || alarm_guid.is_some() {
            self.publish(EventKind::Delivered {
                client: client.clone(),
                guids: guids.clone(),
                alarm: alarm_guid.clone(),
            });
        }
        guids.extend(alarm_guid);
        Ok(guids)
    }

    /// `POST /api/done/<guid>`: removes the action (or the alarm order) and, when it was a
    /// light/shutter scene, records the devices' acknowledged state. Says what the guid was; an
    /// unknown, repeated or malformed guid is not an error (the box must get its 201).
    pub async fn ack(&self, client: &ClientId, guid: &str) -> Result<Acked, PortError> {
        let Ok(guid) = Guid::new(guid) else {
            return Ok(Acked::Unknown);
        };
        let what = self
            .ports
            .queue
            .ack(client, &guid)
            .await
            .map_err(|e| self.failed(Some(client), "ack", e))?;
        let updates = match &what {
            Acked::Action(action) => state::acknowledged_by(&action.command),
            Acked::Alarm | Acked::Unknown => Vec::new(),
        };
        self.publish(EventKind::Acked {
            client: client.clone(),
            guid,
            what: what.clone(),
        });
        if !updates.is_empty() {
            let at = self.now();
            self.ports
                .store
                .record_devices(client, &updates, at)
                .await
                .map_err(|e| self.failed(Some(client), "record device states", e))?;
            self.publish(EventKind::DevicesAcknowledged {
                client: client.clone(),
                updates,
            });
        }
        Ok(what)
    }

    /// Validates `order`, expands it, merges it where safe and queues it for `client` (or, when
    /// `None`, for the only box seen so far). The one way anything is queued for a box.
    pub async fn inject(
        &self,
        client: Option<&ClientId>,
        order: &Order,
    ) -> Result<Injected, InjectError> {
        let commands = order.commands().inspect_err(|e| {
            self.publish(EventKind::Refused {
                client: client.cloned(),
                reason: e.to_string(),
            });
        })?;
        let client = self.target(client).await?;
        // (a queue that cannot be read now cannot be pushed to either: the push says why)
        if let Ok(pending) = self.ports.queue.pending(&client).await {
            if pending.len() >= self.max_pending {
                let full = InjectError::QueueFull {
                    client: client.clone(),
                    pending: pending.len(),
                    limit: self.max_pending,
                };
                self.publish(EventKind::Refused {
                    client: Some(client),
                    reason: full.to_string(),
                });
                return Err(full);
            }
        }
        let with_guids: Vec<_> = commands
            .into_iter()
            .map(|c| (c, self.ports.guids.next_guid()))
            .collect();
        let enqueued = self
            .ports
            .queue
            .push(&client, with_guids.clone())
            .await
            .map_err(|e| self.failed(Some(&client), "queue order", e))?;
        for ((command, _), enqueued) in with_guids.into_iter().zip(&enqueued) {
            self.publish(EventKind::Queued {
                client: client.clone(),
                enqueued: enqueued.clone(),
                command,
            });
        }
        Ok(Injected { client, enqueued })
    }

    /// Arms or disarms the alarm of `client` (or of the only box): the order is encrypted with
    /// the box's key and becomes the `_de67f` object of its next `myactions`, replacing an
    /// alarm order still pending. Refused when the gateway does not know the box's key, or when
    /// the box reports that its keypad forbids remote orders (407 = 0).
    pub async fn alarm(
        &self,
        client: Option<&ClientId>,
        command: AlarmCommand,
    ) -> Result<AlarmQueued, InjectError> {
        let client = self.target(client).await?;
        let refused = |refusal: AlarmRefusal| {
            self.publish(EventKind::Refused {
                client: Some(client.clone()),
                reason: refusal.to_string(),
            });
            InjectError::Alarm(refusal)
        };
        let key = self
            .key_of(&client)
            .ok_or_else(|| refused(AlarmRefusal::NoKey(client.clone())))?;
        let access = self
            .ports
            .store
            .values(&client, &[ALARM_REMOTE_ACCESS])
            .await
            .map_err(|e| self.failed(Some(&client), "read alarm access", e))?;
        if access.first().copied().flatten() == Some(Value(0)) {
            return Err(refused(AlarmRefusal::RemoteAccessOff(client.clone())));
        }
        let at = self
            .ports
            .clock
            .local_time()
            .map_err(|e| refused(AlarmRefusal::Clock(e)))?;
        let guid = self.ports.guids.next_guid();
        let order = AlarmOrder::new(guid.clone(), alarm::obl(key, command, at))
            .map_err(|_| PortError::Failed("the alarm cipher gave an invalid obl".into()))?;
        let replaced = self
            .ports
            .queue
            .set_alarm(&client, order)
            .await
            .map_err(|e| self.failed(Some(&client), "queue alarm order", e))?;
        self.publish(EventKind::AlarmQueued {
            client: client.clone(),
            guid: guid.clone(),
            command,
            replaced: replaced.clone(),
        });
        Ok(AlarmQueued {
            client,
            guid,
            replaced,
        })
    }

    /// The key of `client`, if the gateway was given it.
    fn key_of(&self, client: &ClientId) -> Option<&Key> {
        self.box_keys.iter().find(|k| k.client_id() == *client)
    }

    /// `client`, or the only box seen when `None`.
    async fn target(&self, client: Option<&ClientId>) -> Result<ClientId, InjectError> {
        match client {
            Some(client) => Ok(client.clone()),
            None => self.only_client().await,
        }
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

    /// Every light, dimmer, shutter and the awning of `client`, with its acknowledged state.
    pub async fn device_states(&self, client: &ClientId) -> Result<Vec<DeviceState>, PortError> {
        Ok(state::device_states(
            self.ports.store.devices(client).await?,
        ))
    }

    /// The alarm of `client`: its reported state, whether remote orders are allowed, and the
    /// order waiting for the box's `done`.
    pub async fn alarm_status(&self, client: &ClientId) -> Result<AlarmStatus, PortError> {
        let cells = self
            .ports
            .store
            .values(client, &[BOX_STATE, ALARM_PROGRESS, ALARM_REMOTE_ACCESS])
            .await?;
        let key = self.key_of(client);
        let pending = self.ports.queue.pending_alarm(client).await?.map(|order| {
            let command = key
                .and_then(|key| alarm::decrypt_obl(key, order.obl()).ok())
                .and_then(|text| alarm::command_of(&text));
            (order.guid().clone(), command)
        });
        Ok(AlarmStatus {
            client: client.clone(),
            state: AlarmState::from_cells(cells[0], cells[1]),
            remote_access: cells[2].map(|v| v.get() != 0),
            key_known: key.is_some(),
            pending,
        })
    }
}
