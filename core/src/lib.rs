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
//! # Quick start
//! Embedding core needs no server: a tool that captured a box's traffic can read it, and a tool
//! that wants to drive a house can compute what the box would receive.
//!
//! ```
//! use essensys_core::{
//!     catalog::DeviceKind,
//!     order::{DeviceOrder, Switch},
//!     reply,
//!     status::{self, StatusError},
//!     Action, Command, Guid, Order,
//! };
//!
//! // A status report as the firmware posts it to /api/mystatus (fixtures/status/firmware.txt):
//! // quoted outer keys, bare item keys, cells 11 and 920 as LSB-first binary strings.
//! let body = br#"{"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"17"},{k:11,v:"00000000"},{k:920,v:"10000000"}]}"#;
//! let report = status::parse(body)?;
//! assert_eq!(report.version, "37");
//! let cells: Vec<(u16, &str, u8)> = report
//!     .params
//!     .iter()
//!     .map(|p| (p.index.get(), p.index.info().name, p.value.get()))
//!     .collect();
//! assert_eq!(
//!     cells,
//!     [
//!         (613, "Scenario1.Allumer_CHB_LSB", 0),
//!         (349, "Chauf_zj_Mode", 17),
//!         (11, "Alerte", 0),
//!         (920, "EtatBP1", 1), // "10000000" is bit 0
//!     ]
//! );
//!
//! // A value that is not a byte: the strict parser says which item and at which byte.
//! let bad = br#"{"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"300"}]}"#;
//! let error = status::parse(bad).unwrap_err();
//! assert!(matches!(error, StatusError::Value { index: 349, .. }));
//! assert_eq!(error.offset(), Some(46));
//! // The lenient parser, the one the gateway uses, keeps every good item.
//! let lenient = status::parse_lenient(bad);
//! assert_eq!(lenient.params.len(), 1);
//! assert_eq!(lenient.errors, [error]);
//!
//! // Switch the light of the small bedroom 3 on: a Mode B scene, 590 = 1 and the whole block
//! // 605–622 with only the bit of that lamp set (mask 613, bit 64).
//! let lamp = DeviceOrder::find(DeviceKind::Light, "petite_chambre_3", Switch::OnOrOpen)?;
//! let commands = Order::Devices(vec![lamp]).commands()?;
//! assert!(matches!(commands.as_slice(), [Command::Scene(_)]));
//! let params = commands[0].params();
//! assert_eq!(params.len(), 19);
//! let set: Vec<(u16, u8)> = params
//!     .iter()
//!     .filter(|p| p.value.get() != 0)
//!     .map(|p| (p.index.get(), p.value.get()))
//!     .collect();
//! assert_eq!(set, [(590, 1), (613, 64)]);
//!
//! // The exact myactions body the box would read, with a fixed guid.
//! let guid = Guid::new("00000000-0000-4000-8000-000000000001")?;
//! let actions: Vec<Action> = commands
//!     .into_iter()
//!     .map(|command| Action { guid: guid.clone(), command })
//!     .collect();
//! let mut out = Vec::new();
//! let packed = reply::encode_actions(&mut out, None, &actions, reply::ONE_SEGMENT_LIMIT);
//! assert_eq!(packed, 1);
//! assert_eq!(
//!     String::from_utf8(out)?,
//!     concat!(
//!         r#"{"_de67f":null,"actions":[{"guid":"00000000-0000-4000-8000-000000000001","params":["#,
//!         r#"{"k":590,"v":"1"},{"k":605,"v":"0"},{"k":606,"v":"0"},{"k":607,"v":"0"},"#,
//!         r#"{"k":608,"v":"0"},{"k":609,"v":"0"},{"k":610,"v":"0"},{"k":611,"v":"0"},"#,
//!         r#"{"k":612,"v":"0"},{"k":613,"v":"64"},{"k":614,"v":"0"},{"k":615,"v":"0"},"#,
//!         r#"{"k":616,"v":"0"},{"k":617,"v":"0"},{"k":618,"v":"0"},{"k":619,"v":"0"},"#,
//!         r#"{"k":620,"v":"0"},{"k":621,"v":"0"},{"k":622,"v":"0"}]}]}"#,
//!     )
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! To run the use cases themselves, build a [`Gateway`] on your own [`ports`] (or on the
//! in-memory ones of `essensys-memory`) and call it as the box's transport would:
//! `core/examples/one_cycle.rs` answers one box cycle that way, `decode_status.rs` and
//! `order_bytes.rs` are the two halves above as command-line tools (`cargo run -p essensys-core
//! --example decode_status -- fixtures/status/firmware.txt`).
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
//!   [`gateway`]: the use cases on them; [`answer`]: what a box's request is answered (status,
//!   the 201-always rule, the `myactions` budget), for transports.

#![deny(missing_docs)]

pub mod action;
pub mod alarm;
pub mod answer;
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
