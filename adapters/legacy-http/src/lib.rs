//! `essensys-legacy-http` — the port-80 server the Essensys box talks to.
//!
//! The box (firmware BP_MQX_ETH) sends one request per TCP connection in a quirky HTTP/1.1 and
//! reads the reply with a single `recv()` of at most 1499 bytes. This crate reads its requests
//! permissively, answers the four box endpoints through core's [`essensys_core::Gateway`], and
//! hands every other path to the HTTP API's axum `Router` in-process, so one port serves
//! everything. Every reply is built in one buffer and written with one write, then the
//! connection is closed.
//!
//! # What this crate must never do
//! Decide anything about the box's protocol beyond HTTP framing: what to answer is core's job.
//! Answer the box with an error when it could be answered at all (a failed cycle costs the house
//! ~20 s): store failures are logged and counted, not returned. Let one connection hold up the
//! others, or panic on any byte sequence.
//!
//! # Layout
//! - [`request`]: the permissive request-head parser.
//! - [`response`]: one-buffer replies.
//! - [`box_api`]: the four box endpoints and box identification.
//! - [`fallback`]: everything else, through the axum Router.
//! - [`connections`]: who holds a connection: per-source caps, shedding idle ones when full.
//! - [`server`]: the listener, deadlines (head, then whole request) and shutdown.
//! - [`throttle`]: repeated warnings logged once per period, with a count.
//!
//! It counts nothing itself: requests answered (with their duration), timeouts and refusals
//! are published as events through [`essensys_core::Gateway::publish`].

#![deny(missing_docs)]

pub mod box_api;
pub mod connections;
pub mod fallback;
pub mod request;
pub mod response;
pub mod server;
pub mod throttle;

pub use box_api::Admission;
pub use server::{Server, ServerConfig};
