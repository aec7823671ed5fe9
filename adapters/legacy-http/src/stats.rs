//! Runtime counters of the box server, for `/debug` and metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters, updated with relaxed atomics (no lock on the hot path).
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// `serverinfos` requests answered.
    pub serverinfos: AtomicU64,
    /// `mystatus` requests answered.
    pub mystatus: AtomicU64,
    /// `mystatus` bodies that could not be read completely (still answered 201).
    pub garbled_status: AtomicU64,
    /// `myactions` requests answered.
    pub myactions: AtomicU64,
    /// Actions handed to boxes (re-sends included).
    pub actions_sent: AtomicU64,
    /// `done` requests answered.
    pub done: AtomicU64,
    /// Requests handed to the HTTP API.
    pub api: AtomicU64,
    /// Requests refused before reaching a handler (malformed, too large, bad identity).
    pub rejected: AtomicU64,
    /// Connections closed because the request did not arrive in time.
    pub timeouts: AtomicU64,
    /// Box requests during which the state store failed (the box still got its reply).
    pub store_errors: AtomicU64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Every counter with its name.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("connections", read(&self.connections)),
            ("serverinfos", read(&self.serverinfos)),
            ("mystatus", read(&self.mystatus)),
            ("garbled_status", read(&self.garbled_status)),
            ("myactions", read(&self.myactions)),
            ("actions_sent", read(&self.actions_sent)),
            ("done", read(&self.done)),
            ("api", read(&self.api)),
            ("rejected", read(&self.rejected)),
            ("timeouts", read(&self.timeouts)),
            ("store_errors", read(&self.store_errors)),
        ]
    }
}
