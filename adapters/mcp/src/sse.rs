//! The legacy HTTP+SSE transport (MCP 2024-11-05), which rmcp no longer ships and older clients
//! (OpenClaw's among them) still use.
//!
//! `GET /sse` opens a session: the first event is `event: endpoint` with the relative URL to
//! post to, `data: /messages?sessionId=<id>` (prefixed by a proxy's `X-Forwarded-Prefix`, so a
//! client behind nginx's `/mcp/` posts back through it), then one `event: message` per server
//! message, with keep-alive comments between. `POST /messages?sessionId=<id>` hands one client
//! message to the session: 202, or 404 for an unknown session, 400 for a body that is not a
//! JSON-RPC message. A session ends when its stream closes (the client went); at most
//! [`MAX_SESSIONS`] are open at once.

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use futures::{channel::mpsc, stream, SinkExt, Stream, StreamExt};
use rmcp::{
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    ServiceExt,
};
use serde::Deserialize;
use serde_json::json;

use crate::tools::Tools;

/// The most SSE sessions open at once; more are refused with 503.
pub const MAX_SESSIONS: usize = 16;

/// Messages buffered each way in a session.
const BUFFER: usize = 32;

/// How long a posted message may wait for room in its session.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Between keep-alive comments on an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The open sessions: where each one's client messages go.
#[derive(Clone, Default)]
pub struct Sessions {
    open: Arc<Mutex<HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>>>,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes its session when the stream that holds it is dropped (the client went).
struct Closing {
    sessions: Sessions,
    id: String,
}

impl Drop for Closing {
    fn drop(&mut self) {
        // dropping the sender ends the session's input, so its service stops
        self.sessions.lock().remove(&self.id);
        tracing::debug!(session = %self.id, "MCP SSE session closed");
    }
}

/// What the SSE routes share.
#[derive(Clone)]
pub(crate) struct SseState {
    pub(crate) tools: Tools,
    pub(crate) sessions: Sessions,
}

/// A JSON error answer.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The path prefix a proxy says it strips, if it is a plain path.
fn forwarded_prefix(headers: &HeaderMap) -> &str {
    headers
        .get("x-forwarded-prefix")
        .and_then(|v| v.to_str().ok())
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| {
            p.starts_with('/')
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        })
        .unwrap_or("")
}

/// `GET /sse`: opens a session.
pub(crate) async fn open(State(state): State<SseState>, headers: HeaderMap) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, from_client) = mpsc::channel::<ClientJsonRpcMessage>(BUFFER);
    let (to_client, from_server) = mpsc::channel::<ServerJsonRpcMessage>(BUFFER);
    {
        let mut open = state.sessions.lock();
        if open.len() >= MAX_SESSIONS {
            drop(open);
            tracing::warn!("MCP SSE session refused: {MAX_SESSIONS} already open");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many MCP SSE sessions open: close one, or use Streamable HTTP at /mcp",
            );
        }
        open.insert(id.clone(), to_server);
    }
    let closing = Closing {
        sessions: state.sessions.clone(),
        id: id.clone(),
    };
    let tools = state.tools.clone();
    let session = id.clone();
    tokio::spawn(async move {
        match tools.serve((to_client, from_client)).await {
            Ok(running) => {
                let reason = running.waiting().await;
                tracing::debug!(%session, ?reason, "MCP SSE session ended");
            }
            Err(e) => tracing::debug!(%session, error = %e, "MCP SSE session not initialized"),
        }
    });
    tracing::info!(session = %id, open = state.sessions.len(), "MCP SSE session opened");
    let endpoint = format!("{}/messages?sessionId={id}", forwarded_prefix(&headers));
    let first = stream::once(async move { Ok(Event::default().event("endpoint").data(endpoint)) });
    let messages = from_server.map(move |message| {
        let _open = &closing; // dropped with the stream
        Ok::<_, Infallible>(
            Event::default()
                .event("message")
                .data(serde_json::to_string(&message).unwrap_or_default()),
        )
    });
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(first.chain(messages));
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The query of `POST /messages`.
#[derive(Deserialize)]
pub(crate) struct Target {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
}

/// `POST /messages?sessionId=<id>`: one client message for a session.
pub(crate) async fn post(
    State(state): State<SseState>,
    Query(target): Query<Target>,
    body: Bytes,
) -> Response {
    let Some(id) = target.session_id else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing sessionId: post to the URL of the `endpoint` event of GET /sse",
        );
    };
    let Some(mut sender) = state.sessions.lock().get(&id).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "no such MCP SSE session (it ended when its stream closed): open a new one with GET /sse",
        );
    };
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a JSON-RPC message: {e}"),
            )
        }
    };
    match tokio::time::timeout(POST_TIMEOUT, sender.send(message)).await {
        Ok(Ok(())) => StatusCode::ACCEPTED.into_response(),
        Ok(Err(_)) => error(
            StatusCode::NOT_FOUND,
            "the MCP SSE session has ended: open a new one with GET /sse",
        ),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the MCP SSE session is not reading its messages: try again",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_path_prefixes_are_used() {
        let mut headers = HeaderMap::new();
        assert_eq!(forwarded_prefix(&headers), "");
        headers.insert("x-forwarded-prefix", "/mcp/".parse().unwrap());
        assert_eq!(forwarded_prefix(&headers), "/mcp");
        headers.insert("x-forwarded-prefix", "https://evil/".parse().unwrap());
        assert_eq!(forwarded_prefix(&headers), "");
        headers.insert("x-forwarded-prefix", "/a?b".parse().unwrap());
        assert_eq!(forwarded_prefix(&headers), "");
    }
}
