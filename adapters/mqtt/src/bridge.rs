//! The bridge's driver: owns the paho client, reads the gateway's events and the broker's
//! messages, publishes discovery and states, turns commands into orders.
//!
//! ```text
//! gateway events ─(bounded channel)─┐
//! broker messages (commands, HA birth)─┼─> run loop ─> publish (retained, QoS 1)
//! 1 s tick (box availability, reconnect)┘        └─> Gateway::inject / Gateway::alarm
//! ```
//! Publishing never waits for the broker (paho queues; a publish while disconnected fails at
//! once and is dropped): after every (re)connection, and on Home Assistant's birth message,
//! everything is announced again — discovery, then availability, then every state — so nothing
//! dropped meanwhile is missing for long. The box is never waited for: the event channel drops
//! when this loop is behind.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use essensys_core::{
    event::{Event, EventKind},
    gateway::InjectError,
    ports::Change,
    state::DeviceState,
    ClientId, Gateway, Index,
};
use paho_mqtt as paho;
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::{
    entity::{self, BoxContext, Entity, Intent, Reading},
    options::{valid_prefix, MqttOptions},
    topics::Topics,
};

/// QoS of everything the bridge publishes and subscribes.
const QOS: i32 = paho::QOS_1;
/// The longest wait for the broker to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnection backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a clean shutdown waits for the `offline` message to leave.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);
/// Messages paho may hold before they leave (an announce is ~140 messages per box; beyond
/// this, publishes are dropped and counted, and the next announce sends everything again).
const MAX_BUFFERED: i32 = 8192;

/// Why the bridge could not be set up.
#[derive(Debug, Error)]
pub enum MqttError {
    /// A topic root with a wildcard or an empty level.
    #[error("{what} {value:?} is not a valid topic prefix: no '+', '#', empty level or '/' at either end")]
    Prefix {
        /// Which option.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// paho refused the client options.
    #[error("cannot create the MQTT client: {0}")]
    Client(#[from] paho::Error),
}

/// How often a box's requests reach the bridge: enough to see a box new or alive, without
/// waking the bridge for each request of the box's hot path.
const PRESENCE_EVERY: Duration = Duration::from_secs(1);

/// The filter of the bridge's event channel: reports and acknowledged devices, and each box's
/// requests at most once per second (the first one of a new box always). The rest never enter
/// the channel.
pub fn wanted() -> impl Fn(&Event) -> bool + Send + Sync + 'static {
    let presence = essensys_events::Throttle::new(PRESENCE_EVERY);
    move |event| match &event.kind {
        EventKind::Reported { .. } | EventKind::DevicesAcknowledged { .. } => true,
        EventKind::BoxRequest {
            client: Some(client),
            ..
        } => presence.admit(client, Instant::now()),
        _ => false,
    }
}

/// The bridge, ready to [`Bridge::run`].
pub struct Bridge {
    options: MqttOptions,
    gateway: Arc<Gateway>,
    events: mpsc::Receiver<Event>,
    client: paho::AsyncClient,
    stream: paho::AsyncReceiver<paho::Event>,
    connect: paho::ConnectOptions,
    topics: Topics,
    connected: Arc<AtomicBool>,
    /// Publishes paho refused while connected (its buffer full).
    dropped: std::sync::atomic::AtomicU64,
}

/// What the bridge knows of a box's polling.
struct Presence {
    last_seen: Instant,
    online: bool,
    announced: bool,
    /// Announced before the box reported its firmware version (its first `mystatus`): announce
    /// again once it has, so the device block carries it.
    without_version: bool,
}

impl Bridge {
    /// Sets up the client (nothing is connected until [`Bridge::run`]). `events` is the
    /// receiving end of the channel the gateway's fan-out feeds (filtered by [`wanted`]).
    pub fn new(
        options: MqttOptions,
        gateway: Arc<Gateway>,
        events: mpsc::Receiver<Event>,
    ) -> Result<Self, MqttError> {
        for (what, value) in [
            ("--mqtt-base", &options.base),
            ("--ha-discovery-prefix", &options.discovery_prefix),
        ] {
            if !valid_prefix(value) {
                return Err(MqttError::Prefix {
                    what,
                    value: value.clone(),
                });
            }
        }
        let topics = Topics::new(&options.base, &options.discovery_prefix);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let create = paho::CreateOptionsBuilder::new()
            .server_uri(options.broker.server_uri())
            .client_id(format!("essensys-gateway-{}", &id[..12]))
            .max_buffered_messages(MAX_BUFFERED)
            .finalize();
        let mut client = paho::AsyncClient::new(create)?;
        let stream = client.get_event_stream(256);
        let mut connect = paho::ConnectOptionsBuilder::new_v3();
        connect
            .keep_alive_interval(Duration::from_secs(30))
            .clean_session(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .will_message(paho::Message::new_retained(
                topics.bridge_state(),
                "offline",
                QOS,
            ));
        if let Some(user) = &options.broker.user {
            connect.user_name(user.as_str());
        }
        if let Some(password) = &options.broker.password {
            connect.password(password.as_str());
        }
        Ok(Self {
            connect: connect.finalize(),
            options,
            gateway,
            events,
            client,
            stream,
            topics,
            connected: Arc::new(AtomicBool::new(false)),
            dropped: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// A flag that tells whether the bridge is connected to the broker right now (for metrics
    /// and health).
    pub fn connected_flag(&self) -> Arc<AtomicBool> {
        self.connected.clone()
    }

    /// Runs until `shutdown` completes, then publishes `offline` and disconnects. Never
    /// returns early: a broker that is down is retried with backoff (1 s to 30 s).
    pub async fn run(mut self, shutdown: impl Future) {
        let shown = self.options.broker.shown();
        let mut boxes = self.known_boxes().await;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut backoff = BACKOFF_MIN;
        let mut next_attempt = Instant::now();
        let mut failures = 0u32;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                event = self.events.recv() => match event {
                    Some(event) => self.on_gateway_event(event, &mut boxes).await,
                    None => break,
                },
                message = self.stream.recv() => match message {
                    Ok(paho::Event::Connected) => {
                        self.connected.store(true, Ordering::Relaxed);
                        info!(broker = %shown, "mqtt connected: announcing to Home Assistant");
                        failures = 0;
                        backoff = BACKOFF_MIN;
                        self.on_connect(&mut boxes).await;
                    }
                    Ok(paho::Event::Message(message)) => self.on_message(&message, &mut boxes).await,
                    Ok(paho::Event::ConnectionLost | paho::Event::Disconnected { .. }) => {
                        self.connected.store(false, Ordering::Relaxed);
                        warn!(broker = %shown, "mqtt connection lost: reconnecting; the box is served as usual");
                        next_attempt = Instant::now() + BACKOFF_MIN;
                    }
                    Ok(paho::Event::Shutdown) | Err(_) => {}
                },
                _ = tick.tick() => {
                    self.check_presence(&mut boxes);
                    let connected = self.connected.load(Ordering::Relaxed);
                    if !connected && Instant::now() >= next_attempt {
                        match tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), self.client.connect(self.connect.clone())).await {
                            Ok(Ok(_)) => {} // the Connected event follows
                            Ok(Err(e)) => {
                                failures += 1;
                                if failures == 1 {
                                    warn!(broker = %shown, error = %e, "mqtt broker unreachable: retrying with backoff; the box is served as usual");
                                } else {
                                    debug!(broker = %shown, error = %e, failures, "mqtt broker still unreachable");
                                }
                                next_attempt = Instant::now() + backoff;
                                backoff = (backoff * 2).min(BACKOFF_MAX);
                            }
                            Err(_) => {
                                failures += 1;
                                next_attempt = Instant::now() + backoff;
                                backoff = (backoff * 2).min(BACKOFF_MAX);
                            }
                        }
                    }
                }
            }
        }
        self.goodbye().await;
    }

    /// Clean shutdown: `offline` (retained), then disconnect.
    async fn goodbye(&self) {
        if !self.client.is_connected() {
            return;
        }
        let offline = paho::Message::new_retained(self.topics.bridge_state(), "offline", QOS);
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, self.client.publish(offline)).await;
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, self.client.disconnect(None)).await;
        self.connected.store(false, Ordering::Relaxed);
        info!("mqtt bridge offline");
    }

    /// The boxes the store knows, online if they polled within the box timeout.
    async fn known_boxes(&self) -> HashMap<ClientId, Presence> {
        let now = self.gateway.now();
        let clients = match self.gateway.clients().await {
            Ok(clients) => clients,
            Err(e) => {
                warn!(error = %e, "mqtt bridge: boxes not read from the store; they appear when they poll");
                return HashMap::new();
            }
        };
        let timeout = self.options.box_timeout;
        clients
            .into_iter()
            .map(|info| {
                let silent = Duration::from_millis(now.0.saturating_sub(info.last_seen.0));
                let last_seen = Instant::now()
                    .checked_sub(silent)
                    .unwrap_or_else(Instant::now);
                let presence = Presence {
                    last_seen,
                    online: silent < timeout,
                    announced: false,
                    without_version: false,
                };
                (info.id, presence)
            })
            .collect()
    }

    /// After each (re)connection: subscribe, `online`, announce every box.
    async fn on_connect(&self, boxes: &mut HashMap<ClientId, Presence>) {
        let filters = [self.topics.commands_filter(), self.topics.ha_status()];
        if let Err(e) = self.client.subscribe_many(&filters, &[QOS, QOS]).await {
            warn!(error = %e, "mqtt subscribe failed: commands will not arrive until the next reconnection");
        }
        self.publish(self.topics.bridge_state(), "online".into());
        self.announce_all(boxes).await;
    }

    async fn announce_all(&self, boxes: &mut HashMap<ClientId, Presence>) {
        let clients: Vec<ClientId> = boxes.keys().cloned().collect();
        for client in clients {
            let online = boxes.get(&client).is_some_and(|p| p.online);
            let with_version = self.announce(&client, online).await;
            if let Some(presence) = boxes.get_mut(&client) {
                presence.announced = true;
                presence.without_version = !with_version;
            }
        }
    }

    /// Discovery for every entity of `client`, its availability, then every state. Says
    /// whether the box's firmware version was known.
    async fn announce(&self, client: &ClientId, online: bool) -> bool {
        let version = match self.gateway.clients().await {
            Ok(clients) => clients
                .into_iter()
                .find(|c| c.id == *client)
                .and_then(|c| c.version),
            Err(_) => None,
        };
        let ctx = BoxContext {
            topics: &self.topics,
            client,
            version: version.as_deref(),
        };
        let entities = entity::all();
        for entity in &entities {
            let topic = self
                .topics
                .discovery(entity.platform(), &entity.object_id(client));
            self.publish(topic, entity.discovery(&ctx).to_string());
        }
        self.publish_availability(client, online);
        let cells = entity::reported_cells();
        self.publish_states(client, &entities, &cells, online).await;
        debug!(%client, entities = entities.len(), "announced to Home Assistant");
        version.is_some()
    }

    fn publish_availability(&self, client: &ClientId, online: bool) {
        let word = if online { "online" } else { "offline" };
        self.publish(self.topics.availability(client), word.into());
        self.publish_state(
            client,
            &Entity::Connected,
            &Reading {
                cells: &[],
                devices: &[],
                online,
            },
        );
    }

    /// Reads `cells` and the device states of `client` and publishes the state of each of
    /// `entities`.
    async fn publish_states(
        &self,
        client: &ClientId,
        entities: &[Entity],
        cells: &[Index],
        online: bool,
    ) {
        let values = match self.gateway.read_values(client, cells).await {
            Ok(values) => values,
            Err(e) => {
                warn!(%client, error = %e, "mqtt: reported states not read from the store");
                return;
            }
        };
        let devices: Vec<DeviceState> = if entities.iter().any(|e| matches!(e, Entity::Device(_))) {
            match self.gateway.device_states(client).await {
                Ok(devices) => devices,
                Err(e) => {
                    warn!(%client, error = %e, "mqtt: device states not read from the store");
                    return;
                }
            }
        } else {
            Vec::new()
        };
        let reading = Reading {
            cells: &values,
            devices: &devices,
            online,
        };
        for entity in entities {
            self.publish_state(client, entity, &reading);
        }
    }

    fn publish_state(&self, client: &ClientId, entity: &Entity, reading: &Reading<'_>) {
        if let Some(state) = entity.state(reading) {
            let topic = self.topics.state(client, entity.platform(), entity.key());
            self.publish(topic, state);
        }
    }

    /// Publishes a retained QoS 1 message without waiting (dropped while disconnected: the
    /// next connection announces everything again).
    fn publish(&self, topic: String, payload: String) {
        if !self.connected.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self
            .client
            .try_publish(paho::Message::new_retained(topic, payload, QOS))
        {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 1 || n.is_multiple_of(1000) {
                warn!(error = %e, dropped = n, "mqtt publishes dropped: the broker does not keep up; the next announce sends everything again");
            }
        }
    }

    async fn on_gateway_event(&self, event: Event, boxes: &mut HashMap<ClientId, Presence>) {
        match event.kind {
            EventKind::BoxRequest {
                client: Some(client),
                ..
            } => {
                let presence = boxes.entry(client.clone()).or_insert(Presence {
                    last_seen: Instant::now(),
                    online: false,
                    announced: false,
                    without_version: false,
                });
                presence.last_seen = Instant::now();
                let was_online = std::mem::replace(&mut presence.online, true);
                let connected = self.connected.load(Ordering::Relaxed);
                if connected && !presence.announced {
                    info!(%client, "new box: announcing it to Home Assistant");
                    presence.announced = true;
                    presence.without_version = !self.announce(&client, true).await;
                } else if !was_online {
                    info!(%client, "box polling again: online");
                    self.publish_availability(&client, true);
                }
            }
            EventKind::Reported { client, changes } => {
                // its first report also told its firmware version: announce it with it
                let reannounce = self.connected.load(Ordering::Relaxed)
                    && boxes
                        .get(&client)
                        .is_some_and(|p| p.announced && p.without_version);
                if reannounce {
                    let with_version = self.announce(&client, true).await;
                    if let Some(presence) = boxes.get_mut(&client) {
                        presence.without_version = !with_version;
                    }
                } else {
                    self.on_reported(&client, &changes, boxes).await;
                }
            }
            EventKind::DevicesAcknowledged { client, updates } => {
                let devices: Vec<DeviceState> = updates
                    .iter()
                    .map(|u| DeviceState {
                        device: u.device,
                        acknowledged: Some(essensys_core::state::Acknowledged {
                            state: u.state,
                            at: event.at,
                        }),
                    })
                    .collect();
                let reading = Reading {
                    cells: &[],
                    devices: &devices,
                    online: true,
                };
                for update in &updates {
                    self.publish_state(&client, &Entity::Device(update.device), &reading);
                }
            }
            _ => {}
        }
    }

    /// Publishes the state of every entity a change concerns.
    async fn on_reported(
        &self,
        client: &ClientId,
        changes: &[Change],
        boxes: &HashMap<ClientId, Presence>,
    ) {
        let touched: Vec<Entity> = entity::all()
            .into_iter()
            .filter(|e| {
                e.cells()
                    .iter()
                    .any(|cell| changes.iter().any(|c| c.index == *cell))
            })
            .collect();
        if touched.is_empty() {
            return;
        }
        let mut cells: Vec<Index> = touched.iter().flat_map(Entity::cells).collect();
        cells.sort();
        cells.dedup();
        let online = boxes.get(client).is_none_or(|p| p.online);
        self.publish_states(client, &touched, &cells, online).await;
    }

    /// Boxes silent for longer than the box timeout go offline.
    fn check_presence(&self, boxes: &mut HashMap<ClientId, Presence>) {
        let timeout = self.options.box_timeout;
        for (client, presence) in boxes.iter_mut() {
            if presence.online && presence.last_seen.elapsed() > timeout {
                presence.online = false;
                info!(%client, silent_s = timeout.as_secs(), "box silent: offline");
                self.publish_availability(client, false);
            }
        }
    }

    async fn on_message(&self, message: &paho::Message, boxes: &mut HashMap<ClientId, Presence>) {
        let topic = message.topic();
        let payload = message.payload_str();
        if topic == self.topics.ha_status() {
            if payload.trim() == "online" {
                info!("Home Assistant started: announcing again");
                self.announce_all(boxes).await;
            }
            return;
        }
        let Some(command) = self.topics.parse_command(topic) else {
            return;
        };
        let Ok(client) = ClientId::new(command.client) else {
            warn!(topic, "mqtt command for an invalid box id: ignored");
            return;
        };
        let Some(entity) = entity::find(command.platform, command.key) else {
            warn!(topic, "mqtt command for no known entity: ignored");
            return;
        };
        let intent = match entity.command(&payload) {
            Ok(intent) => intent,
            Err(reason) => {
                warn!(%client, topic, %reason, "mqtt command refused");
                return;
            }
        };
        let outcome = match &intent {
            Intent::Order(order) => {
                self.gateway
                    .inject(Some(&client), order)
                    .await
                    .map(|injected| {
                        let guids: Vec<&str> =
                            injected.enqueued.iter().map(|e| e.guid.as_str()).collect();
                        format!("queued as {}", guids.join(", "))
                    })
            }
            Intent::Alarm(command) => self
                .gateway
                .alarm(Some(&client), *command)
                .await
                .map(|queued| format!("alarm order queued as {}", queued.guid)),
        };
        match outcome {
            Ok(what) => {
                info!(%client, entity = entity.key(), payload = %payload, "Home Assistant order {what}")
            }
            Err(InjectError::Port(e)) => {
                warn!(%client, entity = entity.key(), error = %e, "Home Assistant order not queued: the state store failed")
            }
            Err(e) => {
                warn!(%client, entity = entity.key(), reason = %e, "Home Assistant order refused")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use essensys_core::{event::BoxEndpoint, ports::Timestamp};

    use super::*;

    fn request(client: &str) -> Event {
        Event {
            at: Timestamp(0),
            kind: EventKind::BoxRequest {
                client: ClientId::new(client).ok(),
                endpoint: BoxEndpoint::MyActions,
                status: 200,
                micros: 5,
            },
        }
    }

    #[test]
    fn a_box_reaches_the_bridge_once_a_second_and_reports_always() {
        let wanted = wanted();
        assert!(wanted(&request("box1")), "a new box at once");
        assert!(!wanted(&request("box1")), "not every request");
        assert!(wanted(&request("box2")));
        let report = Event {
            at: Timestamp(0),
            kind: EventKind::Reported {
                client: ClientId::default_box(),
                changes: Vec::new(),
            },
        };
        assert!(wanted(&report));
        let timeout = Event {
            at: Timestamp(0),
            kind: EventKind::Timeout {
                peer: [127, 0, 0, 1].into(),
            },
        };
        assert!(!wanted(&timeout));
    }
}
