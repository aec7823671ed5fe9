//! [`CycleError`]: what ends a cycle, as the firmware judges it (each costs the real box about
//! 20 s of network re-init), plus what the sim refuses to do; and [`Phase`], which part of an
//! exchange timed out.
//!
//! The constructors that translate an [`ExchangeError`] (transport) or a [`Rejection`] (the
//! firmware's judgement of a reply) into a [`CycleError`] for one [`Endpoint`] live here too, so
//! that `sim` only runs the cycle.

use std::{io, time::Duration};

use thiserror::Error;

use crate::{exchange::ExchangeError, judge::Rejection, sim::Endpoint};

/// Which part of an exchange timed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The TCP connect.
    Connect,
    /// Sending the request or waiting for the reply.
    Reply,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Reply => "reply",
        })
    }
}

/// What ends a cycle: what the firmware treats as an error (each costs the real box about
/// 20 s), plus what the sim refuses to do (OTA).
///
/// The sim is stricter than the firmware in one way: a reply that does not arrive whole in
/// the one read ([`CycleError::TooLong`], [`CycleError::Split`]) is always an error, because
/// whether the real box survives the cut depends on where it falls.
#[derive(Debug, Error)]
pub enum CycleError {
    /// The TCP connect failed.
    #[error("{endpoint}: connect failed: {source}")]
    Connect {
        /// The request being made.
        endpoint: Endpoint,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The connect or the reply did not come in time.
    #[error("{endpoint}: {phase} timed out after {after:?}")]
    Timeout {
        /// The request being made.
        endpoint: Endpoint,
        /// Connect or reply.
        phase: Phase,
        /// The timeout.
        after: Duration,
    },
    /// Sending the request or reading the reply failed.
    #[error("{endpoint}: {source}")]
    Io {
        /// The request being made.
        endpoint: Endpoint,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// The server closed the connection without sending anything.
    #[error("{endpoint}: the server closed the connection without a reply")]
    NoReply {
        /// The request being made.
        endpoint: Endpoint,
    },
    /// The reply lacks the status the firmware searches for.
    #[error("{endpoint}: the reply does not contain {expected:?} (status line {status_line:?})")]
    Status {
        /// The request being answered.
        endpoint: Endpoint,
        /// The substring searched for.
        expected: &'static str,
        /// The reply's first line.
        status_line: String,
    },
    /// The reply is longer than the firmware's buffer: it would be cut.
    #[error(
        "{endpoint}: the reply is {bytes} bytes, more than the {limit} the firmware reads; it would be cut"
    )]
    TooLong {
        /// The request being answered.
        endpoint: Endpoint,
        /// The bytes the server was seen to send (counting stops at limit + 64 KiB).
        bytes: usize,
        /// The firmware's read limit (1499, or 1023 for `done`).
        limit: usize,
    },
    /// The reply came in several pieces: the firmware reads once and would judge only the first.
    #[error(
        "{endpoint}: the reply came in pieces ({read} bytes, then {later} more); the firmware reads once and would lose the rest (send the reply in one write)"
    )]
    Split {
        /// The request being answered.
        endpoint: Endpoint,
        /// The bytes of the one read.
        read: usize,
        /// The bytes that came after.
        later: usize,
    },
    /// The reply does not follow the grammar the firmware reads.
    #[error("{endpoint}: {detail}")]
    Grammar {
        /// The request being answered.
        endpoint: Endpoint,
        /// What is wrong, and where.
        detail: String,
    },
    /// `serverinfos` asked for a firmware download (`"newversion":"V<n>"`). The rest of the
    /// cycle ran (the box downloads after `myactions`); the sim stops there.
    #[error(
        "serverinfos asked for a firmware download (newversion {version:?}): the box would start an OTA, which the sim does not do; a gateway must answer \"no\""
    )]
    OtaRequested {
        /// The version asked for.
        version: String,
    },
    /// The request the sim would send is not below 1024 bytes (only a long custom `version`
    /// can do this).
    #[error(
        "{endpoint}: the request would be {bytes} bytes; the firmware's requests are below 1024"
    )]
    RequestTooLong {
        /// The request.
        endpoint: Endpoint,
        /// Its size.
        bytes: usize,
    },
}

impl CycleError {
    /// A short stable name for counting errors: `connect`, `timeout`, `io`, `no-reply`,
    /// `status`, `too-long`, `split`, `grammar`, `ota`, `request-too-long`.
    pub fn kind(&self) -> &'static str {
        match self {
            CycleError::Connect { .. } => "connect",
            CycleError::Timeout { .. } => "timeout",
            CycleError::Io { .. } => "io",
            CycleError::NoReply { .. } => "no-reply",
            CycleError::Status { .. } => "status",
            CycleError::TooLong { .. } => "too-long",
            CycleError::Split { .. } => "split",
            CycleError::Grammar { .. } => "grammar",
            CycleError::OtaRequested { .. } => "ota",
            CycleError::RequestTooLong { .. } => "request-too-long",
        }
    }

    /// The request that failed (`None` for [`CycleError::OtaRequested`]).
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            CycleError::Connect { endpoint, .. }
            | CycleError::Timeout { endpoint, .. }
            | CycleError::Io { endpoint, .. }
            | CycleError::NoReply { endpoint }
            | CycleError::Status { endpoint, .. }
            | CycleError::TooLong { endpoint, .. }
            | CycleError::Split { endpoint, .. }
            | CycleError::Grammar { endpoint, .. }
            | CycleError::RequestTooLong { endpoint, .. } => Some(*endpoint),
            CycleError::OtaRequested { .. } => None,
        }
    }

    /// Whether the failing request got no reply at all (so it is not in
    /// [`CycleReport::replies`](crate::CycleReport::replies)).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            CycleError::Connect { .. }
                | CycleError::Timeout { .. }
                | CycleError::Io { .. }
                | CycleError::NoReply { .. }
        )
    }

    pub(crate) fn from_exchange(endpoint: Endpoint, error: ExchangeError) -> Self {
        match error {
            ExchangeError::Connect(source) => CycleError::Connect { endpoint, source },
            ExchangeError::ConnectTimeout(after) => CycleError::Timeout {
                endpoint,
                phase: Phase::Connect,
                after,
            },
            ExchangeError::ReplyTimeout(after) => CycleError::Timeout {
                endpoint,
                phase: Phase::Reply,
                after,
            },
            ExchangeError::Write(source) | ExchangeError::Read(source) => {
                CycleError::Io { endpoint, source }
            }
            ExchangeError::NoReply => CycleError::NoReply { endpoint },
        }
    }

    pub(crate) fn rejected(endpoint: Endpoint, rejection: Rejection) -> Self {
        match rejection {
            Rejection::Status {
                expected,
                status_line,
            } => CycleError::Status {
                endpoint,
                expected,
                status_line,
            },
            Rejection::Grammar(detail) => CycleError::Grammar { endpoint, detail },
        }
    }
}
