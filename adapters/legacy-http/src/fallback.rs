//! Every request that is not one of the box's four goes to the HTTP API's axum Router,
//! in-process, and its response is written like the box's: one buffer, one write. The one
//! exception is a stream of server-sent events (`text/event-stream`, what MCP clients hold
//! open): its head is written at once and its body follows as it comes, until it ends, the
//! client goes or the server stops.

use std::net::SocketAddr;

use axum::{body::Body, extract::ConnectInfo, Router};
use http_body_util::{BodyExt, Limited};
use tower::ServiceExt;
use tracing::warn;

use crate::{
    request::Head,
    response::{self, Status, JSON},
};

/// The most bytes of an API response that are sent (a table_ref page of every cell is ~100 KiB).
pub const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// Response headers that this transport sets itself.
const OWN_HEADERS: [&str; 4] = [
    "content-length",
    "content-type",
    "connection",
    "transfer-encoding",
];

/// The media type of a streamed response.
const EVENT_STREAM: &str = "text/event-stream";

/// Calls `router` with the request and appends its whole response to `out`; for an event
/// stream, appends only the head and returns the body still to be sent.
pub async fn answer(
    router: &Router,
    head: &Head<'_>,
    body: Vec<u8>,
    peer: SocketAddr,
    out: &mut Vec<u8>,
) -> Option<Body> {
    let mut request = http::Request::builder()
        .method(head.method)
        .uri(head.target);
    for (name, value) in &head.headers {
        request = request.header(*name, *value);
    }
    let request = match request.body(Body::from(body)) {
        Ok(mut request) => {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        }
        Err(e) => {
            response::error(out, Status(400), &format!("malformed request: {e}"));
            return None;
        }
    };
    let Ok(response) = router.clone().oneshot(request).await;
    let (parts, body) = response.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(JSON);
    let extra: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !OWN_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect();
    let status = Status(parts.status.as_u16());
    if content_type.starts_with(EVENT_STREAM) {
        response::write_stream_head(out, status, content_type, &extra);
        return Some(body);
    }
    let bytes = match Limited::new(body, MAX_RESPONSE).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            warn!(target = head.target, error = %e, "API response not sent");
            response::error(
                out,
                Status(500),
                "internal error: response too large or failed",
            );
            return None;
        }
    };
    response::write(out, status, content_type, &extra, &bytes);
    None
}
