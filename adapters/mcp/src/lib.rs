//! The gateway for agents: MCP (Model Context Protocol) tools over [`essensys_core::Gateway`]
//! and the machine it runs on.
//!
//! This crate must never write the exchange table behind the box's back: every order an agent
//! gives goes through [`essensys_core::Gateway::inject`], and the table changes only when the
//! box reports it. It must never reach services outside the stack's allow-list either.

pub mod host;
