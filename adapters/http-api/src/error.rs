//! [`ApiError`]: every error this API answers, as `{"error":"<what to do>"}` with a status.
//!
//! Domain refusals keep core's own message (it names the index, the value or the box). Store
//! failures are logged here with their cause and answered with a generic message: the cause may
//! name internal hosts and is of no use to the caller.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use essensys_core::{
    gateway::{AlarmRefusal, InjectError},
    ports::PortError,
};
use serde_json::json;

/// An error answer: a status and a lower-case message that says what to do.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with any status.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is wrong.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404: the thing named does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A store failure; `outcome` says what did not happen (`order not queued`, `nothing read`).
    /// Unavailable → 503 (retrying may work), failed → 500 with the cause only in the log.
    pub(crate) fn store(error: PortError, outcome: &str) -> Self {
        match error {
            PortError::Unavailable(cause) => {
                tracing::warn!(%cause, outcome, "state store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("state store unavailable, {outcome}: retry later"),
                )
            }
            PortError::Failed(cause) => {
                tracing::error!(%cause, outcome, "state store failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error, {outcome}: the gateway's log says why"),
                )
            }
        }
    }

    /// Why an order was not queued: refused (400), no box yet (409), several boxes and none
    /// named (400), an alarm order the box cannot take (409: its key unknown, or remote access
    /// off at the keypad), the box's queue full (429), or the store failed.
    pub(crate) fn inject(error: InjectError) -> Self {
        match error {
            InjectError::Refused(refusal) => Self::bad_request(refusal.to_string()),
            InjectError::NoBox => Self::new(StatusCode::CONFLICT, error.to_string()),
            InjectError::SeveralBoxes(_) => Self::bad_request(error.to_string()),
            InjectError::Alarm(AlarmRefusal::Clock(_)) => {
                tracing::error!(%error, "alarm order not built");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error, order not queued: {error}"),
                )
            }
            InjectError::Alarm(_) => Self::new(StatusCode::CONFLICT, error.to_string()),
            InjectError::QueueFull { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            }
            InjectError::Port(port) => Self::store(port, "order not queued"),
        }
    }

    /// Why the box to read could not be chosen: as for orders, but the messages speak of
    /// reading.
    pub(crate) fn target(error: InjectError) -> Self {
        match error {
            InjectError::NoBox => Self::new(
                StatusCode::CONFLICT,
                "no box has connected yet: there is nothing to read until one polls the gateway",
            ),
            InjectError::Port(port) => Self::store(port, "nothing read"),
            other => Self::inject(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
