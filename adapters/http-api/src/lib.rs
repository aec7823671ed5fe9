//! `essensys-http-api` — the gateway's HTTP API for people and programs, as an axum [`Router`].
//!
//! The port-80 server of `essensys-legacy-http` answers the box's own four paths
//! (`/api/serverinfos`, `/api/mystatus`, `/api/myactions`, `/api/done/*`) and hands every other
//! request to the router built by [`router`]. Every handler is thin: request DTO → core type →
//! one [`Gateway`] call → response DTO.
//!
//! # What this crate must never do
//! No protocol rule: which index is writable, what a light order expands to, whether 256 is a
//! value — core decides and this crate relays core's message. No storage: state is read and
//! orders are queued only through the [`Gateway`] use cases. And never answer an error in plain
//! text: every error is `{"error":"<lower-case message that says what to do>"}`.
//!
//! # Routes
//! Guarded by the admin token when one is set ([`ApiState::admin_token`]; 401 otherwise):
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /api/admin/inject[?client=ID]` | `{"k":613,"v":"64"}` or an array; `v` a string or number | [order reply](#order-reply) |
//! | `GET /api/admin/exchange?keys=349,11[&client=ID]` | | `{"client","values":[{"k":349,"v":"17"},{"k":11,"v":null}]}` |
//! | `GET /api/admin/clients` | | `{"clients":[{"id","address","version","last_seen","pending"}]}` |
//! | `GET /api/admin/actions?client=ID` | | `{"client","actions":[{"guid","sent","params":[{"k","v"}]}]}` |
//! | `GET /api/admin/actions` | | `{"clients":[{"client","actions":[…]},…]}` (every seen box) |
//! | `GET /api/v1/devices[?client=ID]` | | `{"client","devices":[{"kind","id","label","group","path","states","state","state_source","since","pending"}],"modes":[{…,"pending"}],"alarm":{…},"reported":{…}}` |
//! | `GET /api/v1/state[?client=ID]` | | the devices answer plus `"boxes":[{"id","address","version","last_seen","online","pending"}]` and `"pending":[{"guid","sent","params"}]`: what the dashboard shows |
//! | `GET /api/v1/events[?client=ID]` | | server-sent events, one `notice` per thing that happened (see [`live`]); `Last-Event-ID` resumes |
//! | `GET /api/v1/gateway` | | `{"version","store","uptime_s","boxes","mqtt":{"enabled","broker"},"mcp":{"enabled"},"admin_token"}` |
//! | `POST /api/v1/lights/{id}[?client=ID]` | `{"state":"on"\|"off"}` | order reply (lights, then dimmers) |
//! | `POST /api/v1/shutters/{id}[?client=ID]` | `{"state":"open"\|"close"}` | order reply (shutters, then the awning) |
//! | `POST /api/v1/scenarios/{n}/launch[?client=ID]` | | order reply (stored scenarios 2–8) |
//! | `POST /api/v1/modes/{key}[?client=ID]` | `{"state":"Eco"}` (an option of `modes[].options`) | order reply (a plain write of 349–353 or 363) |
//! | `GET /api/v1/alarm[?client=ID]` | | `{"client","state","state_source","remote_access","key_known","pending"}` |
//! | `POST /api/v1/alarm[?client=ID]` | `{"state":"arm"\|"disarm"}` | `{"status":"ok","client","guid","replaced"}`; 409 when the box's key is unknown or its keypad forbids remote orders (407 = 0) |
//!
//! A device's `state` is the last one the box **acknowledged** (`state_source`
//! `"acknowledged"`, `since` when), `null` with `"unknown"` before; modes and the alarm are as
//! the box reported them (`"reported"`). `pending` is what an order queued and not yet
//! acknowledged will make of it (`null`: nothing waits).
//!
//! Always open: `GET /health` (`{"status":"ok","uptime_s","boxes","store"}`, 503 `"degraded"`
//! when the store fails), `GET /table_ref[?client=ID]` (an HTML page of every reported cell and
//! the pending actions), `GET /debug` (`{"uptime_s","store","boxes":[ids],"server":{…}}`).
//! `GET /` and other paths outside `/api/`: the built dashboard's files
//! ([`ApiState::dashboard`]), or at `/` a page saying how to build it.
//! Anything else: 404 `{"error":"no route for GET /x"}`; a known path with the wrong method: 405.
//! Every answer is published as an `Api` event (route pattern and status) through the gateway.
//!
//! # Order reply
//! `{"status":"ok","client":"<box>","guid":"<first action>","guids":[…],"merged":[bool,…]}`:
//! one entry per action; `merged` is true where the order joined a scene already queued (its
//! guid is then that scene's). Without `client`, an order goes to the only box seen: 409 when
//! none has connected, 400 when several have. A refused order (400, core's message naming the
//! index or value) queues nothing. A store that does not answer gives 503 (retry), any other
//! store failure 500 with the cause only in the log.
//!
//! # Layout
//! - `auth`: the bearer-token guard; `extract`: extractors whose rejections are JSON errors;
//! - `dto`: the JSON shapes and their translation to core types; `error`: the error answers;
//! - `admin`, `devices`, `ops`, `table_ref`: the handlers, by route family; `live`: the
//!   notices and their stream; `dashboard`: the web app's files.

#![deny(missing_docs)]

mod admin;
pub mod auth;
mod dashboard;
mod devices;
mod dto;
mod error;
mod extract;
pub mod live;
mod ops;
mod table_ref;

use std::{
    fmt,
    net::IpAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    middleware,
    routing::{get, post},
    Router,
};
use essensys_core::Gateway;
use live::Live;

/// Runtime counters of the box server, shown under `"server"` by `GET /debug`.
pub type DebugCounters = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// What every handler shares. Cheap to clone (everything heavy is behind an `Arc`).
#[derive(Clone)]
pub struct ApiState {
    /// The use cases: every read and every order goes through it.
    pub gateway: Arc<Gateway>,
    /// When `Some`, `/api/admin/*` and `/api/v1/*` require `Authorization: Bearer <token>`;
    /// when `None`, they answer only loopback and private-range clients. `/health`,
    /// `/table_ref` and `/debug` stay open (`/debug` lists box ids only with the token when one
    /// is set). An empty token matches no request.
    pub admin_token: Option<String>,
    /// The state store's kind, `"memory"` or `"redis"`, shown by `/health` and `/debug`.
    pub store_kind: &'static str,
    /// When the gateway started, for `uptime_s`.
    pub started: Instant,
    /// The box server's runtime counters, merged into `/debug`. Called on each request to
    /// `/debug`: it must return at once.
    pub debug: DebugCounters,
    /// Proxies whose `X-Forwarded-For` is believed (nginx on the same machine: `127.0.0.1`).
    /// Without an admin token, the API answers only local-network clients, as these say.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// The notices `GET /api/v1/events` streams ([`Live::new`]; [`Live::none`] for none).
    pub live: Live,
    /// A box silent this long is shown offline (`online` in `GET /api/v1/state`).
    pub box_timeout: Duration,
    /// What `GET /api/v1/gateway` says of the running gateway.
    pub about: About,
    /// The built dashboard (a folder with `index.html`) served at `/`; `None` or a folder
    /// without one serves a page saying how to build it.
    pub dashboard: Option<PathBuf>,
}

/// What the gateway says of itself to the dashboard's settings page: nothing secret.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct About {
    /// The gateway's version.
    pub version: &'static str,
    /// The MQTT broker as shown in logs (`host:port`, no credentials), `None` when off.
    pub mqtt: Option<String>,
    /// Whether MCP is served.
    pub mcp: bool,
}

impl ApiState {
    /// A state with no admin token, started now, no server counters (`"server": null`), no
    /// live notices, a 60 s box timeout and no dashboard.
    pub fn new(gateway: Arc<Gateway>, store_kind: &'static str) -> Self {
        Self {
            gateway,
            admin_token: None,
            store_kind,
            started: Instant::now(),
            debug: Arc::new(|| serde_json::Value::Null),
            trusted_proxies: Arc::new([]),
            live: Live::none(),
            box_timeout: Duration::from_secs(60),
            about: About {
                version: env!("CARGO_PKG_VERSION"),
                ..About::default()
            },
            dashboard: None,
        }
    }
}

impl fmt::Debug for ApiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiState")
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .field("store_kind", &self.store_kind)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

/// The API's router, with `state` applied: ready to be served, or called with tower's
/// `oneshot` by the port-80 server for every request that is not the box's.
pub fn router(state: ApiState) -> Router {
    let guarded = Router::new()
        .route("/api/admin/inject", post(admin::inject))
        .route("/api/admin/exchange", get(admin::exchange))
        .route("/api/admin/clients", get(admin::clients))
        .route("/api/admin/clients/{id}/forget", post(admin::forget))
        .route("/api/admin/actions", get(admin::actions))
        .route("/api/v1/state", get(devices::house_state))
        .route("/api/v1/events", get(live::stream))
        .route("/api/v1/gateway", get(ops::about))
        .route("/api/v1/devices", get(devices::list))
        .route("/api/v1/lights/{id}", post(devices::light))
        .route("/api/v1/shutters/{id}", post(devices::shutter))
        .route("/api/v1/scenarios/{n}/launch", post(devices::launch))
        .route("/api/v1/modes/{key}", post(devices::set_mode))
        .route(
            "/api/v1/alarm",
            get(devices::alarm).post(devices::set_alarm),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/health", get(ops::health))
        .route("/table_ref", get(table_ref::page))
        .route("/debug", get(ops::debug))
        .merge(guarded)
        .fallback(dashboard::fallback)
        .method_not_allowed_fallback(ops::wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), ops::observe))
        .with_state(state)
}
