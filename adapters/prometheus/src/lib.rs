//! Prometheus metrics of the gateway: [`Recorder`] listens to the gateway's events (the same
//! seam as the counters and the MQTT bridge) and [`routes`] serves `GET /metrics` in the classic
//! text format (0.0.4), which every Prometheus and `promtool check metrics` accept.
//!
//! Counters and histograms come from events; what describes the boxes (last seen, connected,
//! pending actions) is read from the store at each scrape, so that a forgotten box disappears
//! with it and at most [`MAX_BOXES`] boxes are shown. This crate must never slow a box down: the
//! recorder is lock-free except for the small map of API routes, and never waits.
//!
//! # Families
//! `essensys_box_requests_total{endpoint}`, `essensys_box_request_duration_seconds{endpoint}`,
//! `essensys_box_last_seen_timestamp_seconds{client}`, `essensys_box_connected{client}`,
//! `essensys_actions_total{event}`, `essensys_actions_pending{client}`,
//! `essensys_status_garbled_total`, `essensys_store_up`, `essensys_store_errors_total`,
//! `essensys_mqtt_connected` (when a broker is configured),
//! `essensys_http_requests_total{route,status}`, `essensys_build_info{version}`.

mod exposition;
mod recorder;

use std::sync::Arc;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use essensys_core::Gateway;

pub use exposition::render;
pub use recorder::{ActionEvent, Recorder, BUCKETS, MAX_ROUTES};

/// The most boxes shown (the most recently seen); a larger fleet is cut, not grown without end.
pub const MAX_BOXES: usize = 64;

/// A box that has not polled for this long is shown not connected (it polls every 2–5 s).
pub const CONNECTED_WITHIN_S: u64 = 60;

/// The media type of the classic text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A figure the app reads at each scrape.
pub type Probe<T> = Arc<dyn Fn() -> T + Send + Sync>;

/// What a scrape reads besides the recorder.
#[derive(Clone)]
pub struct Sources {
    /// The gateway: its boxes and their queues.
    pub gateway: Arc<Gateway>,
    /// The events, counted.
    pub recorder: Arc<Recorder>,
    /// Whether the store's adapter says it is up (Redis); `None`: up when it answers.
    pub store_up: Option<Probe<bool>>,
    /// Whether the MQTT bridge is connected, when one is configured.
    pub mqtt_connected: Option<Probe<bool>>,
}

/// `GET /metrics`.
pub fn routes(sources: Sources) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(sources)
}

async fn metrics(State(sources): State<Sources>) -> Response {
    let body = render(&sources).await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}
