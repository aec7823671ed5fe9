//! `essensys-redis` — the gateway's production state on Redis (deadpool-redis): each box's
//! exchange table, history, contact details and acknowledged device states, and each box's
//! action queue and pending `_de67f` alarm order, in the key schema the other tools of the stack
//! read (MCP server, control plane).
//!
//! [`RedisState`] implements both ports of `essensys-core`,
//! [`ExchangeStore`](essensys_core::ports::ExchangeStore) and
//! [`ActionQueue`](essensys_core::ports::ActionQueue):
//!
//! ```no_run
//! # async fn wire() -> Result<(), essensys_redis::RedisError> {
//! use essensys_redis::{RedisOptions, RedisState};
//! let state = RedisState::connect(RedisOptions::new("redis://127.0.0.1:6379/0")).await?;
//! // Ports { store: state.clone(), queue: state.clone(), … }
//! # Ok(()) }
//! ```
//!
//! # What it guarantees
//! - **One Redis round trip per port call of a box request**: `serverinfos` is one pipeline;
//!   `mystatus`, `myactions` (alarm order and actions together) and `done` (alarm order or
//!   action) are one Lua script each (atomic). A `done` that acks a light/shutter scene makes
//!   the gateway call a second port, `record_devices`: one more pipeline (one `HSET`), so such
//!   a `done` costs two round trips, every other box request one. Orders (`push`, `set_alarm`)
//!   and reads may take several.
//! - **A Redis outage never fails a box reply**: every operation is bounded by
//!   [`RedisOptions::op_timeout`]; once Redis is unreachable the box's actions are served from
//!   a local cache, its acks remembered, its reports and acknowledged device states buffered,
//!   and everything is written back when Redis returns ([`Health`] tells how it stands). A
//!   pending alarm order is not served meanwhile: it waits in Redis and goes with the first
//!   `myactions` after. Orders (actions and alarm orders) are refused meanwhile
//!   ([`PortError::Unavailable`](essensys_core::ports::PortError::Unavailable)), never dropped.
//! - **Per-box queues**; the older gateways' single `essensys:global:actions` list is migrated
//!   into the `default` box's queue (see `legacy` below).
//!
//! # What it must never do
//! - Re-implement a protocol rule. Merging is [`essensys_core::merge::enqueue`], the delivery
//!   rule is [`essensys_core::reply::fitting_count`] (applied by a script on the stored wire
//!   strings, whose lengths are [`essensys_core::reply::action_len`]) in the room
//!   [`essensys_core::reply::room_with_alarm`] leaves (applied by the same script on the stored
//!   alarm order, written by [`essensys_core::reply::encode_alarm`], whose length is
//!   [`essensys_core::reply::AlarmOrder::encoded_len`]), validation is
//!   [`essensys_core::Order::commands`], [`essensys_core::Command::from_params`],
//!   [`essensys_core::reply::AlarmOrder::new`] and [`essensys_core::Guid::new`]; which devices
//!   a `done` settles is [`essensys_core::state::acknowledged_by`] (in the gateway), device keys
//!   are [`essensys_core::catalog::Device::key`] and [`essensys_core::catalog::device_by_key`].
//! - Let a Redis outage fail or delay a box's reply beyond one operation timeout.
//! - Evict state. The Redis server must **not** run with an eviction policy such as
//!   `allkeys-lru` (the older deployment's `maxmemory 128mb` + `allkeys-lru` can silently drop
//!   a queued order or a box's table): use `maxmemory-policy noeviction` and persistence
//!   (AOF or RDB) so that queues survive a restart.
//! - Leak redis types through a port: connectivity failures become
//!   `PortError::Unavailable`, anything else `PortError::Failed` with what was being done.
//!
//! # Layout
//! - `keys`: the key schema (shared with the other tools), and the stored device state words.
//! - `wire`: the stored text forms (action wire JSON, alarm order `_de67f` object, history
//!   samples, RFC 3339, legacy JSON).
//! - `scripts`: the Lua scripts (apply a report, deliver, ack, mark sent after an outage, move
//!   an invalid alarm order aside).
//! - `conn`: connections — one shared multiplexed connection for box requests, the pool for
//!   transactions — each operation bounded by the timeout and counted.
//! - `requests`: the box's requests, one round trip each.
//! - `transaction`: `WATCH`/`MULTI` rewrite of one box's queue (push, legacy migration).
//! - `legacy`: the migration of `essensys:global:actions`.
//! - `outage`: the local cache and buffers used while Redis is unreachable; [`Health`].
//! - `recovery`: the reconnection task and the flush of the buffers.
//! - `state`: [`RedisState`], [`RedisOptions`], connect; `exchange` and `queue`: the two port
//!   implementations.

#![deny(missing_docs)]

mod conn;
mod error;
mod exchange;
mod keys;
mod legacy;
mod outage;
mod queue;
mod recovery;
mod requests;
mod scripts;
mod state;
mod transaction;
mod wire;

pub use error::RedisError;
pub use outage::Health;
pub use state::{RedisOptions, RedisState};
