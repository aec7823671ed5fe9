//! Routes for operators: `/health`, `/debug`, and the JSON answers to unknown routes and
//! methods.

use axum::{
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use essensys_core::event::EventKind;
use serde_json::json;

use crate::{error::ApiError, ApiState};

/// `GET /health`: `{"status":"ok","uptime_s","boxes","store"}`, or 503
/// `{"status":"degraded",…,"error"}` when the store does not answer.
pub(crate) async fn health(State(state): State<ApiState>) -> Response {
    let uptime_s = state.started.elapsed().as_secs();
    match state.gateway.clients().await {
        Ok(clients) => Json(json!({
            "status": "ok",
            "uptime_s": uptime_s,
            "boxes": clients.len(),
            "store": state.store_kind,
        }))
        .into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: state store failed");
            let body = json!({
                "status": "degraded",
                "uptime_s": uptime_s,
                "store": state.store_kind,
                "error": format!("the {} state store does not answer: check it, the gateway's log says why", state.store_kind),
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /debug`: `{"uptime_s","store","boxes":[ids],"box_count","server":<the box server's
/// counters>}`. `boxes` is `null` (and `store_error` set) when the store does not answer, and
/// when an admin token is set but the request does not carry it (the count stays).
pub(crate) async fn debug(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
) -> Json<serde_json::Value> {
    let authorized = state
        .admin_token
        .as_deref()
        .is_none_or(|expected| crate::auth::check(&headers, expected).is_ok());
    let server = (state.debug)();
    let mut body = json!({
        "uptime_s": state.started.elapsed().as_secs(),
        "store": state.store_kind,
        "boxes": null,
        "server": server,
    });
    match state.gateway.clients().await {
        Ok(clients) => {
            body["box_count"] = json!(clients.len());
            if authorized {
                let ids: Vec<String> = clients.iter().map(|c| c.id.to_string()).collect();
                body["boxes"] = json!(ids);
            } else {
                body["boxes_hidden"] = json!("send the admin token to see the box ids");
            }
        }
        Err(error) => {
            tracing::warn!(%error, "debug: state store failed");
            body["store_error"] = json!("the state store does not answer");
        }
    }
    Json(body)
}

/// `GET /api/v1/gateway`: `{"version","store","uptime_s","boxes","mqtt":{"enabled","broker"},
/// "mcp":{"enabled"},"admin_token"}` — what the dashboard's settings page shows; no secret.
pub(crate) async fn about(
    State(state): State<ApiState>,
) -> Result<Json<serde_json::Value>, crate::error::ApiError> {
    let boxes = state
        .gateway
        .clients()
        .await
        .map_err(|e| crate::error::ApiError::store(e, "nothing read"))?
        .len();
    Ok(Json(json!({
        "version": state.about.version,
        "store": state.store_kind,
        "uptime_s": state.started.elapsed().as_secs(),
        "boxes": boxes,
        "mqtt": {"enabled": state.about.mqtt.is_some(), "broker": state.about.mqtt},
        "mcp": {"enabled": state.about.mcp},
        "admin_token": state.admin_token.is_some(),
    })))
}

/// Every unknown path: 404 `{"error":"no route for GET /x"}`.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// A known path with the wrong method: 405 with a JSON error.
pub(crate) async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {}: orders are POST, reads are GET",
            uri.path()
        ),
    )
}

/// Publishes every answer as an `Api` event: the route's pattern (`/api/v1/lights/{id}`, or
/// `unmatched`) and the status.
pub(crate) async fn observe(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let route: std::sync::Arc<str> = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .into();
    let response = next.run(request).await;
    state.gateway.publish(EventKind::Api {
        route,
        status: response.status().as_u16(),
    });
    response
}
