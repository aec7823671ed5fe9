//! The gateway for agents: MCP (Model Context Protocol) tools over [`essensys_core::Gateway`]
//! and the machine it runs on, served on Streamable HTTP (`/mcp`, rmcp) and on the legacy
//! HTTP+SSE transport (`/sse` + `/messages`) that older clients use.
//!
//! This crate must never write the exchange table behind the box's back: every order an agent
//! gives goes through [`essensys_core::Gateway::inject`], and the table changes only when the
//! box reports it. It must never reach services outside the stack's allow-list, and never
//! answers a request without the bearer token.
//!
//! # Layout
//! - [`routes`]: the three routes behind the bearer and `Host` guard, for the backend's router
//!   or the `essensys-mcp` binary.
//! - `tools`: the ten tools. `directory`: `find_device_index`'s catalog. `diagnostic`: the
//!   checks and safe repairs. [`host`]: services and machine figures. `sse`: the legacy
//!   transport.

pub mod diagnostic;
pub mod directory;
pub mod host;
mod sse;
mod tools;

use std::{fmt, path::PathBuf, sync::Arc};

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use essensys_core::Gateway;
use essensys_http_api::auth::{self, Refusal};
use rmcp::transport::streamable_http_server::{
    session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use serde_json::json;

pub use host::HostConfig;
pub use sse::{Sessions, MAX_SESSIONS};
pub use tools::Tools;

/// A figure the app reads at each call.
pub type Probe<T> = Arc<dyn Fn() -> T + Send + Sync>;

/// The state store's health, as its adapter sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// Whether it answers.
    pub up: bool,
    /// What the adapter says (`Up`, `Down since …, 3 reports buffered`).
    pub detail: String,
}

/// What the app knows of its own health, for `get_system_metrics` and `run_self_diagnostic`.
#[derive(Clone, Default)]
pub struct Vitals {
    /// `memory` or `redis`.
    pub store_kind: &'static str,
    /// The store's health, when its adapter tracks one (Redis).
    pub store_health: Option<Probe<StoreHealth>>,
    /// Whether the MQTT bridge is connected, when one is configured.
    pub mqtt_connected: Option<Probe<bool>>,
    /// The gateway's counters (requests per endpoint, actions sent, acks…).
    pub counters: Option<Probe<Vec<(String, u64)>>>,
}

/// How the MCP routes are served.
#[derive(Clone)]
pub struct McpConfig {
    /// The bearer token every request must carry (never empty).
    pub token: String,
    /// The `Host` values accepted (DNS-rebinding protection): host names, optionally with a
    /// port; a name without a port matches any port.
    pub allowed_hosts: Vec<String>,
    /// Where the host's services and figures are read.
    pub host: HostConfig,
    /// The app's own health.
    pub vitals: Vitals,
}

/// How MCP is served, as an app's configuration gives it.
#[derive(Clone)]
pub struct McpSettings {
    /// The bearer token (never empty).
    pub token: String,
    /// The `Host` values accepted.
    pub allowed_hosts: Vec<String>,
    /// The Docker Engine socket.
    pub docker_socket: PathBuf,
}

impl fmt::Debug for McpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpSettings")
            .field("token", &"***")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("docker_socket", &self.docker_socket)
            .finish()
    }
}

/// Why MCP's settings are unusable.
pub type SettingsError = auth::TokenError;

impl McpSettings {
    /// The settings from the token (given, else the first line of `token_file`; empty is an
    /// error), or `None` without either (MCP off). Without `allowed_hosts`, [`default_allowed_hosts`]; without
    /// `docker_socket`, `/var/run/docker.sock`.
    pub fn resolve(
        token: Option<String>,
        token_file: Option<PathBuf>,
        allowed_hosts: Vec<String>,
        docker_socket: Option<PathBuf>,
    ) -> Result<Option<Self>, SettingsError> {
        let Some(token) = auth::token("--mcp-token", token, token_file.as_deref())? else {
            return Ok(None);
        };
        let allowed_hosts: Vec<String> = allowed_hosts
            .into_iter()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .collect();
        Ok(Some(Self {
            token,
            allowed_hosts: if allowed_hosts.is_empty() {
                default_allowed_hosts()
            } else {
                allowed_hosts
            },
            docker_socket: docker_socket.unwrap_or_else(|| HostConfig::default().docker_socket),
        }))
    }

    /// The routes' configuration, with the app's `vitals`.
    pub fn config(&self, vitals: Vitals) -> McpConfig {
        McpConfig {
            token: self.token.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            host: HostConfig {
                docker_socket: self.docker_socket.clone(),
                ..HostConfig::default()
            },
            vitals,
        }
    }
}

/// The default `Host` allow-list: loopback and this machine's host name.
pub fn default_allowed_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim().to_ascii_lowercase();
        if !name.is_empty() && !hosts.contains(&name) {
            hosts.push(name);
        }
    }
    hosts
}

/// The guard's settings.
#[derive(Clone)]
struct Guard {
    token: Arc<str>,
    hosts: Arc<[String]>,
}

/// `/mcp` (Streamable HTTP), `/sse` and `/messages` (legacy SSE), each behind the bearer token
/// and the `Host` check.
pub fn routes(gateway: Arc<Gateway>, config: McpConfig) -> Router {
    let sessions = Sessions::default();
    let tools = Tools::new(
        gateway,
        Arc::new(host::Host::new(config.host)),
        config.vitals,
        sessions.clone(),
    );
    let streamable = {
        let tools = tools.clone();
        StreamableHttpService::new(
            move || Ok(tools.clone()),
            LocalSessionManager::default().into(),
            StreamableHttpServerConfig::default().with_allowed_hosts(config.allowed_hosts.clone()),
        )
    };
    let guard = Guard {
        token: config.token.into(),
        hosts: config.allowed_hosts.into(),
    };
    Router::new()
        .route("/sse", get(sse::open))
        .route("/messages", post(sse::post))
        .with_state(sse::SseState { tools, sessions })
        .nest_service("/mcp", streamable)
        .layer(middleware::from_fn_with_state(guard, require))
}

/// A JSON error answer.
fn refusal(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Lets through only requests with the bearer token and an allowed `Host`.
async fn require(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let message = match auth::check(request.headers(), &guard.token) {
        Ok(()) => None,
        Err(Refusal::Missing) => Some(
            "missing bearer token: send `Authorization: Bearer <token>` with the gateway's MCP token",
        ),
        Err(Refusal::Wrong) => Some(
            "wrong bearer token: send the gateway's MCP token as `Authorization: Bearer <token>`",
        ),
    };
    if let Some(message) = message {
        tracing::warn!(%path, "MCP request refused: {message}");
        let mut response = refusal(StatusCode::UNAUTHORIZED, message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"essensys-mcp\""),
        );
        return response;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, &guard.hosts) {
        tracing::warn!(%path, host, "MCP request refused: Host not allowed");
        return refusal(
            StatusCode::FORBIDDEN,
            "this Host is not allowed: add it to the gateway's --mcp-allowed-hosts",
        );
    }
    next.run(request).await
}

/// Whether the `Host` header `host` is in `allowed` (an entry without a port matches any port).
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let (name, port) = split_authority(host);
    allowed.iter().any(|entry| {
        let (allowed_name, allowed_port) = split_authority(entry);
        allowed_name.eq_ignore_ascii_case(name) && allowed_port.is_none_or(|p| port == Some(p))
    })
}

/// `host[:port]` or `[v6][:port]` into its name (without brackets) and port.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((name, tail)) => (name, tail.strip_prefix(':')),
            None => (rest, None),
        };
    }
    match authority.split_once(':') {
        // a bare IPv6 address has several colons and no port
        Some((name, port)) if !port.contains(':') => (name, Some(port)),
        _ => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_and_by_port_when_given() {
        let allowed: Vec<String> = ["localhost", "127.0.0.1", "::1", "gw.lan:8083"]
            .map(String::from)
            .into();
        for ok in [
            "localhost",
            "LOCALHOST:7070",
            "127.0.0.1:80",
            "[::1]:9",
            "::1",
            "gw.lan:8083",
        ] {
            assert!(host_allowed(ok, &allowed), "{ok}");
        }
        for refused in [
            "",
            "evil.com",
            "evil.com:7070",
            "gw.lan",
            "gw.lan:80",
            "127.0.0.2",
        ] {
            assert!(!host_allowed(refused, &allowed), "{refused}");
        }
    }

    #[test]
    fn the_token_comes_from_the_flag_else_the_file_and_is_never_shown() {
        assert!(McpSettings::resolve(None, None, vec![], None)
            .unwrap()
            .is_none());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  from-file \nsecond line\n").unwrap();
        let given = McpSettings::resolve(Some("flag".into()), Some(file.clone()), vec![], None);
        assert_eq!(given.unwrap().unwrap().token, "flag");
        let read = McpSettings::resolve(None, Some(file.clone()), vec![" gw:8083 ".into()], None)
            .unwrap()
            .unwrap();
        assert_eq!(read.token, "from-file");
        assert_eq!(read.allowed_hosts, ["gw:8083"]);
        assert!(!format!("{read:?}").contains("from-file"));
        std::fs::write(&file, "\n").unwrap();
        let empty = McpSettings::resolve(None, Some(file), vec![], None).unwrap_err();
        assert!(empty.to_string().contains("empty"), "{empty}");
        let blank = McpSettings::resolve(Some(" ".into()), None, vec![], None).unwrap_err();
        assert!(
            blank.to_string().contains("--mcp-token is empty"),
            "{blank}"
        );
        let missing = McpSettings::resolve(None, Some(dir.path().join("nope")), vec![], None);
        assert!(missing.unwrap_err().to_string().contains("cannot read"));
    }

    #[test]
    fn the_default_hosts_are_loopback_and_this_machine() {
        let hosts = default_allowed_hosts();
        assert_eq!(&hosts[..3], ["localhost", "127.0.0.1", "::1"]);
    }
}
