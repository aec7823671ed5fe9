//! `essensys-core` — the domain of the Essensys gateway.
//!
//! An Essensys controller (the *box*, firmware BP_MQX_ETH) shares a 953-cell *exchange table*
//! with its server and talks to it in a frozen HTTP/1.1 dialect. This crate owns everything that
//! dialect and that table mean: the cells and their access rights, the box's relaxed-JSON status
//! reports, how an [`Order`] from a person or a program becomes an [`Action`] the box executes,
//! the byte-exact replies, the matricule and the alarm cipher — and the *ports* (traits) through
//! which the gateway's adapters store state, queue actions and publish events, with the
//! [`Gateway`] use cases that run on them.
//!
//! # What this crate must never do
//! No I/O of any kind: no sockets, no files, no environment, no clock reads, no threads, no
//! async runtime. Time and ids come in through the [`ports`]. Every rule of the box's protocol
//! lives here and only here, so that the HTTP server, Redis, MQTT and MCP adapters agree.
//!
//! # Layout
//! - [`cell`]: [`Index`] (0–952), [`Value`] (0–255), [`Param`].
//! - [`client`]: [`ClientId`], which box a thing belongs to.
//! - [`catalog`]: names and access rights of every cell, and the device catalog (built in).
//! - [`codec`]: the box's textual values (decimal, LSB-first binary strings).
//! - [`status`]: the nom parser of `POST /api/mystatus` bodies.
//! - [`order`]: what someone wants ([`Order`]), validated and expanded into [`Command`]s.
//! - [`action`]: what the box gets ([`Action`] = [`Guid`] + [`Command`]) and the light/shutter
//!   [`Block`].
//! - [`merge`]: where a new command goes in a box's queue (conflict-safe merge).
//! - [`reply`]: byte-exact `serverinfos` and `myactions` bodies within a byte budget.
//! - [`matricule`]: the box's identity from its key or its `Authorization` header.
//! - [`alarm`]: the `_de67f` alarm order cipher.
//! - [`state`]: what the gateway knows of each light and shutter (the last command the box
//!   acknowledged) and where a state comes from.
//! - [`house`]: what reported cells mean — heating, water heater and watering modes, alarm
//!   state, alerts, meter.
//! - [`event`]: what happened, for listeners; [`ports`]: the traits adapters implement;
//!   [`gateway`]: the use cases on them.

#![deny(missing_docs)]

pub mod action;
pub mod alarm;
pub mod catalog;
pub mod cell;
pub mod client;
pub mod codec;
pub mod event;
pub mod gateway;
pub mod house;
pub mod matricule;
pub mod merge;
pub mod order;
pub mod ports;
pub mod reply;
pub mod state;
pub mod status;

pub use action::{Action, Block, Command, Guid};
pub use cell::{Index, Param, Value};
pub use client::ClientId;
pub use gateway::Gateway;
pub use order::{Order, OrderError};
