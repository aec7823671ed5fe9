//! Errors: the one this crate returns ([`RedisError`], only when it cannot even be set up) and
//! how Redis failures become [`PortError`]s — never leaking a redis type through a port.
//!
//! A failure is either **connectivity** (refused, reset, broken pipe, no answer within the
//! operation timeout, the pool cannot hand out a connection, Redis still loading its data):
//! the state store is marked down and the box is served from the local cache; or anything
//! else (`WRONGTYPE`, a script error, data that is not what this schema stores): reported as
//! [`PortError::Failed`] with the operation and the key it was about.

use std::{fmt, time::Duration};

use deadpool_redis::{redis, PoolError};
use essensys_core::ports::PortError;
use thiserror::Error;

/// Why a [`crate::RedisState`] could not be set up. A Redis that cannot be reached is **not**
/// an error: the state starts anyway and reconnects by itself.
#[derive(Debug, Error)]
pub enum RedisError {
    /// The URL is not a Redis URL.
    #[error(
        "redis url {url:?} is malformed: {reason} (expected redis://[:PASSWORD@]HOST:PORT/DB)"
    )]
    InvalidUrl {
        /// The URL given, password masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection pool could not be built from the options.
    #[error("cannot build the redis connection pool: {0}")]
    Pool(String),
}

/// Whether a failure means "Redis cannot be reached" or "Redis said no".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Connectivity: mark down, serve from the cache.
    Unreachable,
    /// Anything else: report it.
    Failed,
}

/// A failed Redis operation, with what we were doing.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
}

impl Failure {
    /// Redis cannot be reached.
    pub(crate) fn unreachable(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Unreachable,
            message: message.into(),
        }
    }

    /// Redis answered, but not as it should.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Failed,
            message: message.into(),
        }
    }

    /// No answer within the operation timeout.
    pub(crate) fn timed_out(within: Duration) -> Self {
        Self::unreachable(format!("no answer within {} ms", within.as_millis()))
    }

    /// Whether Redis is unreachable (as opposed to refusing the operation).
    pub(crate) fn is_unreachable(&self) -> bool {
        self.kind == FailureKind::Unreachable
    }

    /// Prefixes the message with what we were doing.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The port's view of it.
    pub(crate) fn into_port(self) -> PortError {
        match self.kind {
            FailureKind::Unreachable => {
                PortError::Unavailable(format!("redis unreachable: {}", self.message))
            }
            FailureKind::Failed => PortError::Failed(format!("redis: {}", self.message)),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<redis::RedisError> for Failure {
    fn from(e: redis::RedisError) -> Self {
        use redis::ErrorKind as K;
        let connectivity = e.is_io_error()
            || e.is_connection_refusal()
            || e.is_connection_dropped()
            || e.is_timeout()
            || matches!(
                e.kind(),
                K::BusyLoadingError | K::TryAgain | K::MasterDown | K::ClusterDown
            );
        if connectivity {
            Self::unreachable(e.to_string())
        } else {
            Self::failed(e.to_string())
        }
    }
}

impl From<PoolError> for Failure {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Backend(e) => e.into(),
            PoolError::Timeout(_) | PoolError::Closed | PoolError::NoRuntimeSpecified => {
                Self::unreachable(format!("connection pool: {e}"))
            }
            PoolError::PostCreateHook(e) => Self::unreachable(format!("new connection: {e}")),
        }
    }
}

/// `url` with its password (if any) replaced by `***`, for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn connectivity_is_told_apart_from_refusals() {
        let refused = redis::RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert!(Failure::from(refused).is_unreachable());
        let wrongtype = redis::RedisError::from((
            redis::ErrorKind::TypeError,
            "WRONGTYPE",
            "Operation against a key holding the wrong kind of value".to_string(),
        ));
        let failure = Failure::from(wrongtype).context("deliver for box1");
        assert!(!failure.is_unreachable());
        assert!(
            matches!(failure.into_port(), PortError::Failed(m) if m.starts_with("redis: deliver for box1: "))
        );
        assert!(matches!(
            Failure::timed_out(Duration::from_secs(1)).into_port(),
            PortError::Unavailable(m) if m == "redis unreachable: no answer within 1000 ms"
        ));
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("redis://:secret@10.0.0.1:6379/0"),
            "redis://:***@10.0.0.1:6379/0"
        );
        assert_eq!(
            redact("redis://user:secret@host/0"),
            "redis://user:***@host/0"
        );
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }
}
