//! `essensys-bp-sim` — a faithful simulator of the Essensys controller (the *box*, firmware
//! BP_MQX_ETH, server protocol V37), seen from the network.
//!
//! It plays the box's side of `legacy-protocol.md` §1–§4 against a server: one TCP connection
//! per request, the exact request bytes the firmware sends in one write, exactly one read of the
//! reply into the firmware's buffer (1499 bytes, 1023 for `done`), the firmware's substring
//! checks on the raw buffer, and the effects of the actions on a simulated house. It is what the
//! backend's end-to-end tests drive, what `bp-sim run` shows a person, what `bp-sim load` uses to
//! put a fleet of boxes on a server, and what `bp-sim replay` uses to push captured requests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use essensys_bp_sim::{BoxSim, SimConfig};
//! use essensys_core::matricule::Key;
//!
//! let config = SimConfig {
//!     key: Some(Key::parse("12345678901234567890123456789012")?),
//!     ..SimConfig::new("127.0.0.1:8080".parse()?)
//! };
//! let mut sim = BoxSim::new(config);
//! let report = sim.cycle().await?;
//! for line in &report.changes {
//!     println!("{line}");
//! }
//! # Ok(()) }
//! ```
//!
//! # What bp-sim must never do
//! - **Connect anywhere but the server it is given.** Addresses are socket addresses, never
//!   names: there is no DNS, no `mon.essensys.fr` look-up (the `host` header is only bytes).
//!   `bp-sim load` refuses a non-loopback address unless told otherwise.
//! - **Be the server's source of truth for protocol rules, or take its facts from core.** It
//!   re-implements the firmware's view of the protocol *independently, on purpose*, from
//!   `legacy-protocol.md`, `exchange-table.md` and the data files: it does not call core's reply
//!   encoders, status parser, alarm cipher, catalog, codec or matricule code, so that a wrong
//!   rule or fact there shows up as a disagreement here instead of being shared. Its own copies
//!   are the device table and each cell's name and access ([`catalog`]), the LSB-first binary
//!   strings of cells 11/920/921 (`codec`), and the key cells, MD5, matricule and client id
//!   (`key`); each is tested on the documents' examples and against core's. From
//!   `essensys-core` it takes only vocabulary: [`Index`](essensys_core::Index),
//!   [`Value`](essensys_core::Value), [`Param`](essensys_core::Param),
//!   [`ClientId`](essensys_core::ClientId), [`DeviceKind`](essensys_core::catalog::DeviceKind),
//!   and the 32 digits of a configured [`Key`](essensys_core::matricule::Key).
//! - **Start a firmware download.** A `"newversion":"V<n>"` is reported as
//!   [`CycleError::OtaRequested`]; OTA is not implemented.
//! - Echo the box key: only the client id (the matricule's public half) is ever printed.
//!
//! # Layout
//! - [`catalog`]: bp-sim's own copy of the facts it acts on: the device table (mask cell and
//!   bit of every light and shutter) and each cell's name and server access.
//! - `codec`, `key` (private): the value text the box reports in `mystatus`; the box key's
//!   cells 922–937, its matricule and its client id.
//! - [`request`]: the exact bytes of the four requests (`serverinfos`, `mystatus`, `myactions`,
//!   `done`) and of the `mystatus` body.
//! - [`judge`]: how the firmware judges a reply buffer (status substrings, `isconnected`,
//!   `infos`, `newversion`, the strict `myactions` grammar). Pure, no I/O.
//! - [`house`]: the simulated exchange [`Table`] and [`House`] (lamps, shutters), and how an
//!   action changes them (writes, then 590 last, scenario masks).
//! - [`exchange`]: one firmware-style request: connect, one write, one read, overflow check, RST.
//! - [`sim`]: [`BoxSim`], one box running firmware cycles, with its [`CycleReport`].
//! - [`error`]: [`CycleError`], what ends a cycle (and [`Phase`], what timed out).
//! - [`load`]: a fleet of boxes against one server, with latency percentiles.
//! - [`replay`]: send captured `*.http` requests and compare the replies with `*.reply` files.

#![deny(missing_docs)]

mod alarm;
pub mod catalog;
mod codec;
pub mod error;
pub mod exchange;
pub mod house;
pub mod judge;
mod key;
pub mod load;
pub mod replay;
pub mod request;
pub mod sim;

pub use error::{CycleError, Phase};
pub use exchange::Timing;
pub use house::{DeviceChange, DeviceState, House, Table};
pub use judge::{AlarmOrder, ReceivedAction};
pub use request::StatusItem;
pub use sim::{AlarmOutcome, BoxSim, CycleReport, Endpoint, ExecutedAction, ReplyStat, SimConfig};

/// The most bytes the firmware reads of a reply: one `recv()` into a 1500-byte buffer that it
/// NUL-terminates.
pub const READ_LIMIT: usize = 1499;
/// The most bytes the firmware reads of a `done` reply (1024-byte buffer).
pub const DONE_READ_LIMIT: usize = 1023;
/// Every request the firmware builds is shorter than this (its send buffer).
pub const REQUEST_LIMIT: usize = 1024;
/// The most indices one `serverinfos` may ask for, and so the most items in a `mystatus`.
pub const MAX_INFOS: usize = 30;
/// The most params one action may carry (the firmware's array has 30 slots).
pub const MAX_PARAMS: usize = 30;
/// The number of cells of the exchange table (indices 0–952).
pub const TABLE_SIZE: u16 = 953;
