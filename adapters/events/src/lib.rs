//! `essensys-events` — how listeners hear the gateway's [`Event`]s without ever slowing the box.
//!
//! Core's [`FanOut`] hands every event to each sink in turn, on
//! the box's hot path. The sinks here return at once:
//! - [`Counters`]: relaxed atomic counters of what happened (for `/debug`);
//! - [`channel`]: a bounded channel to an asynchronous listener (the MQTT bridge, the
//!   dashboard's live feed). When the listener falls behind and the channel is full, the event
//!   is **dropped and counted** ([`ChannelSink::dropped`]) — never waited for;
//! - [`Throttle`]: a channel filter's way to let each box's requests through once per period.
//!
//! # What this crate must never do
//! Block, allocate without bound, or decide anything about the box: it only moves events.

#![deny(missing_docs)]

mod channel;
mod counters;
mod throttle;

pub use channel::{channel, ChannelSink};
pub use counters::Counters;
pub use essensys_core::event::{Event, EventKind, EventSink, FanOut};
pub use throttle::Throttle;
