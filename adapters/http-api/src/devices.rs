//! `/api/v1/*`: the device API — lights, dimmers, shutters, the awning, stored scenarios.

use axum::{extract::State, Json};
use essensys_core::{
    catalog::{self, Device, DeviceKind, Group},
    order::DeviceOrder,
    Order,
};
use serde::Serialize;

use crate::{
    admin::queue,
    dto::{self, InjectReply},
    error::ApiError,
    extract::{Args, Body, Segment},
    ApiState,
};

/// Why no device shows a state.
const STATE_SOURCE: &str = "unknown: the box does not report lamp or shutter states in its \
    exchange table; a state will appear here when a report carries it";

/// One device: `{"kind","id","label","group","path","states","state":null,"state_source"}`.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceView {
    kind: &'static str,
    id: &'static str,
    label: &'static str,
    /// `PDV`, `CHB` or `PDE`: the output box it hangs on.
    group: &'static str,
    /// Where to POST its orders.
    path: String,
    /// The two `state`s that path accepts.
    states: [&'static str; 2],
    /// Always `null` for now: see `state_source`.
    state: Option<&'static str>,
    state_source: &'static str,
}

impl From<&'static Device> for DeviceView {
    fn from(device: &'static Device) -> Self {
        let (route, states) = if device.kind.is_switched() {
            ("lights", ["on", "off"])
        } else {
            ("shutters", ["open", "close"])
        };
        Self {
            kind: device.kind.name(),
            id: device.id,
            label: device.label,
            group: match device.group {
                Group::Pdv => "PDV",
                Group::Chb => "CHB",
                Group::Pde => "PDE",
            },
            path: format!("/api/v1/{route}/{}", device.id),
            states,
            state: None,
            state_source: STATE_SOURCE,
        }
    }
}

/// `GET /api/v1/devices`.
#[derive(Debug, Serialize)]
pub(crate) struct DevicesReply {
    devices: Vec<DeviceView>,
}

/// `GET /api/v1/devices`: the whole catalog.
pub(crate) async fn list() -> Json<DevicesReply> {
    Json(DevicesReply {
        devices: catalog::devices().iter().map(DeviceView::from).collect(),
    })
}

/// The device `id` of the first of `kinds` that has one, else a 404.
fn find(kinds: [DeviceKind; 2], id: &str, what: &str) -> Result<&'static Device, ApiError> {
    kinds
        .into_iter()
        .find_map(|kind| catalog::device(kind, id))
        .ok_or_else(|| {
            let id: String = id.chars().take(64).collect();
            ApiError::not_found(format!(
                "no {what} with id {id:?}: GET /api/v1/devices lists them"
            ))
        })
}

/// A family of devices switched by one route: which kinds, and the two words of its `state`.
struct Family {
    kinds: [DeviceKind; 2],
    what: &'static str,
    on_or_open: &'static str,
    off_or_close: &'static str,
}

const LIGHTS: Family = Family {
    kinds: [DeviceKind::Light, DeviceKind::Dimmer],
    what: "light or dimmer",
    on_or_open: "on",
    off_or_close: "off",
};
const SHUTTERS: Family = Family {
    kinds: [DeviceKind::Shutter, DeviceKind::Awning],
    what: "shutter or awning",
    on_or_open: "open",
    off_or_close: "close",
};

/// Queues one device order of `family`.
async fn switch_device(
    state: &ApiState,
    family: &Family,
    id: &str,
    args: Args,
    body: &[u8],
) -> Result<Json<InjectReply>, ApiError> {
    let device = find(family.kinds, id, family.what)?;
    let switch = dto::switch(body, family.on_or_open, family.off_or_close)?;
    let client = args.client()?;
    let order = Order::Devices(vec![DeviceOrder { device, switch }]);
    queue(state, client, &order).await
}

/// `POST /api/v1/lights/{id}[?client=ID]` with `{"state":"on"|"off"}`: lights, then dimmers.
pub(crate) async fn light(
    State(state): State<ApiState>,
    Segment(id): Segment,
    args: Args,
    Body(body): Body,
) -> Result<Json<InjectReply>, ApiError> {
    switch_device(&state, &LIGHTS, &id, args, &body).await
}

/// `POST /api/v1/shutters/{id}[?client=ID]` with `{"state":"open"|"close"}`: shutters, then
/// the awning (`store_terrasse`: open deploys it).
pub(crate) async fn shutter(
    State(state): State<ApiState>,
    Segment(id): Segment,
    args: Args,
    Body(body): Body,
) -> Result<Json<InjectReply>, ApiError> {
    switch_device(&state, &SHUTTERS, &id, args, &body).await
}

/// `POST /api/v1/scenarios/{n}/launch[?client=ID]`: runs stored scenario `n` (core accepts
/// 2–8). No body is read.
pub(crate) async fn launch(
    State(state): State<ApiState>,
    Segment(n): Segment,
    args: Args,
) -> Result<Json<InjectReply>, ApiError> {
    let slot: u8 = n.trim().parse().map_err(|_| {
        let n: String = n.chars().take(16).collect();
        ApiError::bad_request(format!(
            "scenario {n:?} is not a number: launch a stored scenario 2..=8"
        ))
    })?;
    let client = args.client()?;
    queue(&state, client, &Order::Launch(slot)).await
}
