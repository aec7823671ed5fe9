//! `essensys-mqtt` — the Home Assistant bridge: every light, shutter, heating zone, the water
//! heater, watering, the alarm, leaks and the meter of each box, over MQTT (paho-mqtt), with
//! Home Assistant discovery.
//!
//! ```no_run
//! # async fn wire(gateway: std::sync::Arc<essensys_core::Gateway>) -> Result<(), essensys_mqtt::MqttError> {
//! use essensys_mqtt::{Bridge, BrokerUrl, MqttOptions};
//! let (sink, events) = essensys_events::channel("mqtt", 1024, essensys_mqtt::wanted());
//! // add `sink` to the gateway's FanOut, then:
//! let url = BrokerUrl::parse("mqtt://ha:secret@127.0.0.1:1883").expect("url");
//! let bridge = Bridge::new(MqttOptions::new(url), gateway, events)?;
//! bridge.run(tokio::signal::ctrl_c()).await;
//! # Ok(()) }
//! ```
//!
//! # What it guarantees
//! - **States are true.** A light or shutter state is published only after the box
//!   **acknowledged** the action that carried it (`done`), never when a command arrives;
//!   reported cells are published when the box reports a change. Before that: unknown.
//! - **Commands are orders like any other**: through `Gateway::inject` (validation, Mode B
//!   expansion, merge, audit) or `Gateway::alarm`. OFF goes to the OFF mask.
//! - **Availability is honest**: `<base>/bridge/state` is `online` after each connect and
//!   `offline` on clean shutdown and as the broker-held last will; each box has
//!   `<base>/<client>/availability`, offline after the box timeout without a poll.
//! - **The box never waits for MQTT**: events reach the bridge through a bounded channel that
//!   drops when full; a broker outage is retried with backoff, then everything is announced
//!   again.
//!
//! # What it must never do
//! Decide a protocol rule (expansion, masks, values: core does), publish a state nobody
//! observed, or block the gateway.
//!
//! # Layout
//! - [`options`]: broker URL, base topic, discovery prefix, box timeout.
//! - [`topics`]: every topic, built and parsed.
//! - [`entity`]: the entities, their discovery configs, states and commands (pure).
//! - `bridge`: the driver — paho client, events, commands, reconnection.

#![deny(missing_docs)]

mod bridge;
pub mod entity;
pub mod options;
pub mod topics;

pub use bridge::{wanted, Bridge, MqttError};
pub use options::{BrokerUrl, MqttOptions, UrlError};
