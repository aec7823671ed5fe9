//! `/api/v1/*`: the device API — lights, dimmers, shutters, the awning, stored scenarios, the
//! reported modes (heating, water heater, watering) and the alarm.

use axum::{extract::State, Json};
use essensys_core::{
    alarm::AlarmCommand,
    catalog::{self, Device, DeviceKind, Group},
    gateway::{AlarmStatus, InjectError},
    house::{
        self, Alert, Select, ALERTS, APPARENT_POWER, BOX_STATE, ENERGY_FULL_HOURS, ENERGY_OFF_PEAK,
        INPUTS, SELECTS,
    },
    merge::Queued,
    order::{DeviceOrder, RawCell, Switch},
    state::{DeviceState, Source, Waiting},
    ClientId, Index, Order, Value,
};
use serde::Serialize;

use crate::{
    admin::queue,
    dto::{self, ActionView, ClientView, InjectReply},
    error::ApiError,
    extract::{Args, Body, Segment},
    ApiState,
};

/// One device: `{"kind","id","label","group","path","states","state","state_source","since"}`.
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
    /// `on`/`off` (lights) or `open`/`closed` (shutters) as the box last acknowledged, else
    /// `null`.
    state: Option<&'static str>,
    /// `acknowledged` or `unknown`.
    state_source: &'static str,
    /// When the box acknowledged it (RFC 3339), `null` if never.
    since: Option<String>,
    /// What an order queued and not yet acknowledged will do to it (`on`, `off`, `open`,
    /// `closed`, or `unknown` when it gives both), `null` when none is waiting.
    pending: Option<&'static str>,
}

/// The word of a light's (`on`/`off`) or a shutter's (`open`/`closed`) state.
pub(crate) fn state_word(device: &Device, state: Switch) -> &'static str {
    match (state, device.kind.is_switched()) {
        (Switch::OnOrOpen, true) => "on",
        (Switch::OffOrClose, true) => "off",
        (Switch::OnOrOpen, false) => "open",
        (Switch::OffOrClose, false) => "closed",
    }
}

impl DeviceView {
    fn new(device_state: &DeviceState, waiting: &Waiting) -> Self {
        let device = device_state.device;
        let (route, states) = if device.kind.is_switched() {
            ("lights", ["on", "off"])
        } else {
            ("shutters", ["open", "close"])
        };
        let state = device_state.state().map(|s| state_word(device, s));
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
            state,
            state_source: device_state.source().name(),
            since: device_state.acknowledged.map(|a| a.at.to_string()),
            pending: pending_word(waiting, device),
        }
    }
}

/// What an order waiting will make of `device`, in the API's words: `on`/`off`/`open`/`closed`,
/// `unknown` when it gives both bits, `None` when none waits for it.
fn pending_word(waiting: &Waiting, device: &'static Device) -> Option<&'static str> {
    waiting
        .device(device)
        .map(|state| state.map_or("unknown", |s| state_word(device, s)))
}

/// A reported mode (heating zone, water heater, watering):
/// `{"key","label","index","value","state","state_source","options","path"}`.
#[derive(Debug, Serialize)]
pub(crate) struct SelectView {
    key: &'static str,
    label: &'static str,
    index: u16,
    /// The byte the box reported, `null` if never.
    value: Option<u8>,
    /// Its label among `options`, `null` if unknown or none of them.
    state: Option<&'static str>,
    /// `reported` or `unknown`.
    state_source: &'static str,
    options: Vec<&'static str>,
    /// Where to POST `{"state":"<option>"}`.
    path: String,
    /// The option an order queued and not yet acknowledged sets (its byte when it is none of
    /// `options`), `null` when none is waiting.
    pending: Option<String>,
}

/// `GET /api/v1/devices`.
#[derive(Debug, Serialize)]
pub(crate) struct DevicesReply {
    /// The box the states are of, `null` before any box connected.
    client: Option<String>,
    devices: Vec<DeviceView>,
    modes: Vec<SelectView>,
    alarm: Option<AlarmView>,
    /// Reported cells: `leak_washing_machine`, `leak_dishwasher`, `alarm_triggered` (booleans),
    /// `apparent_power_va`, `energy_full_hours_kwh`, `energy_off_peak_kwh`, `inputs` (cell 944),
    /// each `null` when never reported.
    reported: serde_json::Value,
}

/// The box a read is for: the one named, else the only one, else none yet (`Ok(None)`).
async fn reading_box(state: &ApiState, args: &Args) -> Result<Option<ClientId>, ApiError> {
    match args.client()? {
        Some(client) => Ok(Some(client)),
        None => match state.gateway.only_client().await {
            Ok(client) => Ok(Some(client)),
            Err(InjectError::NoBox) => Ok(None),
            Err(e) => Err(ApiError::target(e)),
        },
    }
}

/// `GET /api/v1/devices[?client=ID]`: every light, dimmer, shutter and the awning with the
/// state the box last acknowledged and what waits for it, the reported modes, the alarm and
/// the reported sensors.
pub(crate) async fn list(
    State(state): State<ApiState>,
    args: Args,
) -> Result<Json<DevicesReply>, ApiError> {
    let client = reading_box(&state, &args).await?;
    let (house, _) = house_of(&state, client.as_ref()).await?;
    Ok(Json(house))
}

/// `GET /api/v1/state`: the devices reply, every box seen and what waits for this one.
#[derive(Debug, Serialize)]
pub(crate) struct StateReply {
    #[serde(flatten)]
    house: DevicesReply,
    /// Every box seen: `{"id","address","version","last_seen","online","pending"}`.
    boxes: Vec<BoxView>,
    /// The actions waiting for this box: `{"guid","sent","params"}`.
    pending: Vec<ActionView>,
}

/// A box and whether it polled within the box timeout.
#[derive(Debug, Serialize)]
struct BoxView {
    #[serde(flatten)]
    client: ClientView,
    online: bool,
}

/// `GET /api/v1/state[?client=ID]`: what the dashboard shows, in one read. Without `client`,
/// the box most recently seen (a page must show something when several boxes are seen; it
/// names the one it shows, and `boxes` lists the others); a box never seen is a 404.
pub(crate) async fn house_state(
    State(state): State<ApiState>,
    args: Args,
) -> Result<Json<StateReply>, ApiError> {
    let failed = |e| ApiError::store(e, "nothing read");
    let infos = state.gateway.clients().await.map_err(failed)?;
    let client = match args.client()? {
        Some(client) if infos.iter().any(|info| info.id == client) => Some(client),
        Some(client) => {
            let seen: Vec<&str> = infos.iter().map(|info| info.id.as_str()).collect();
            return Err(ApiError::not_found(format!(
                "no box {client} has been seen: boxes seen are [{}]",
                seen.join(", ")
            )));
        }
        None => infos
            .iter()
            .max_by_key(|info| info.last_seen)
            .map(|info| info.id.clone()),
    };
    let (house, queue) = house_of(&state, client.as_ref()).await?;
    let now = state.gateway.now();
    let timeout_ms = u64::try_from(state.box_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut boxes = Vec::with_capacity(infos.len());
    for info in &infos {
        let pending = if Some(&info.id) == client.as_ref() {
            queue.len()
        } else {
            state.gateway.pending(&info.id).await.map_err(failed)?.len()
        };
        boxes.push(BoxView {
            online: now.0.saturating_sub(info.last_seen.0) < timeout_ms,
            client: ClientView::new(info, pending),
        });
    }
    Ok(Json(StateReply {
        house,
        boxes,
        pending: queue.iter().map(ActionView::from).collect(),
    }))
}

/// The devices reply of `client` (every state unknown when `None`) and its queue.
async fn house_of(
    state: &ApiState,
    client: Option<&ClientId>,
) -> Result<(DevicesReply, Vec<Queued>), ApiError> {
    let failed = |e| ApiError::store(e, "nothing read");
    let Some(client) = client else {
        let unknown = essensys_core::state::device_states([]);
        let none = Waiting::default();
        let house = DevicesReply {
            client: None,
            devices: unknown.iter().map(|d| DeviceView::new(d, &none)).collect(),
            modes: SELECTS
                .iter()
                .map(|s| select_view(s, None, &none))
                .collect(),
            alarm: None,
            reported: reported(&[]),
        };
        return Ok((house, Vec::new()));
    };
    let devices = state.gateway.device_states(client).await.map_err(failed)?;
    let queue = state.gateway.pending(client).await.map_err(failed)?;
    let waiting = Waiting::of(&queue);
    let cells = reported_cells();
    let values = state
        .gateway
        .read_values(client, &cells)
        .await
        .map_err(failed)?;
    let alarm = state.gateway.alarm_status(client).await.map_err(failed)?;
    let value_of = |index: Index| {
        values
            .iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, v)| *v)
    };
    let house = DevicesReply {
        client: Some(client.to_string()),
        devices: devices
            .iter()
            .map(|d| DeviceView::new(d, &waiting))
            .collect(),
        modes: SELECTS
            .iter()
            .map(|s| select_view(s, value_of(s.index), &waiting))
            .collect(),
        alarm: Some(AlarmView::from(&alarm)),
        reported: reported(&values),
    };
    Ok((house, queue))
}

fn select_view(select: &'static Select, value: Option<Value>, waiting: &Waiting) -> SelectView {
    let label = value.and_then(|v| select.label_of(v));
    let pending = waiting.cell(select.index).map(|v| {
        select
            .label_of(v)
            .map_or_else(|| v.get().to_string(), str::to_string)
    });
    SelectView {
        key: select.key,
        label: select.label,
        index: select.index.get(),
        value: value.map(Value::get),
        state: label,
        state_source: if value.is_some() {
            Source::Reported.name()
        } else {
            Source::Unknown.name()
        },
        options: select.labels().collect(),
        path: format!("/api/v1/modes/{}", select.key),
        pending,
    }
}

/// The cells `GET /api/v1/devices` reads.
fn reported_cells() -> Vec<Index> {
    let mut cells: Vec<Index> = SELECTS.iter().map(|s| s.index).collect();
    cells.extend([ALERTS, BOX_STATE, INPUTS]);
    for (low, high) in [APPARENT_POWER, ENERGY_FULL_HOURS, ENERGY_OFF_PEAK] {
        cells.extend([low, high]);
    }
    cells
}

fn reported(values: &[(Index, Option<Value>)]) -> serde_json::Value {
    let value_of = |index: Index| {
        values
            .iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, v)| *v)
    };
    let word = |(low, high): (Index, Index)| house::word(value_of(low), value_of(high));
    let alert = |alert: Alert| alert.raised(value_of(ALERTS), value_of(BOX_STATE));
    serde_json::json!({
        "leak_washing_machine": alert(Alert::WashingMachineLeak),
        "leak_dishwasher": alert(Alert::DishwasherLeak),
        "alarm_triggered": alert(Alert::AlarmTriggered),
        "apparent_power_va": word(APPARENT_POWER),
        "energy_full_hours_kwh": word(ENERGY_FULL_HOURS),
        "energy_off_peak_kwh": word(ENERGY_OFF_PEAK),
        "inputs": value_of(INPUTS).map(Value::get),
    })
}

/// `POST /api/v1/modes/{key}[?client=ID]` with `{"state":"<option>"}`: a heating zone, the
/// water heater or watering, as a plain write.
pub(crate) async fn set_mode(
    State(state): State<ApiState>,
    Segment(key): Segment,
    args: Args,
    Body(body): Body,
) -> Result<Json<InjectReply>, ApiError> {
    let select = house::select(&key).ok_or_else(|| {
        let key: String = key.chars().take(32).collect();
        let keys: Vec<&str> = SELECTS.iter().map(|s| s.key).collect();
        ApiError::not_found(format!("no mode {key:?}: use one of {}", keys.join(", ")))
    })?;
    let options = select.labels().collect::<Vec<_>>().join(", ");
    let wanted = dto::json(&body, &format!(r#"{{"state":"<one of {options}>"}}"#))?;
    let label = wanted.get("state").and_then(|s| s.as_str()).unwrap_or("");
    let value = select.value_of(label).ok_or_else(|| {
        let label: String = label.chars().take(32).collect();
        ApiError::bad_request(format!(
            "{} has no mode {label:?}: send {{\"state\":…}} with one of {options}",
            select.key
        ))
    })?;
    let order = Order::Cells(vec![RawCell {
        k: u64::from(select.index.get()),
        v: value.to_string(),
    }]);
    queue(&state, args.client()?, &order).await
}

/// The alarm: `{"client","state","state_source","remote_access","key_known","pending"}`.
#[derive(Debug, Serialize)]
pub(crate) struct AlarmView {
    client: String,
    /// `disarmed`, `arming`, `armed_away`, `pending`, `triggered`, or `null` if never
    /// reported (from cells 920 and 413).
    state: Option<&'static str>,
    /// `reported` or `unknown`.
    state_source: &'static str,
    /// Cell 407: whether the keypad allows remote orders (`null` if not reported).
    remote_access: Option<bool>,
    /// Whether the gateway knows the box's key (`--box-key`): needed to give an order.
    key_known: bool,
    /// The order waiting for the box's `done`: `{"guid","command":"arm"|"disarm"|null}`.
    pending: Option<serde_json::Value>,
}

impl From<&AlarmStatus> for AlarmView {
    fn from(status: &AlarmStatus) -> Self {
        Self {
            client: status.client.to_string(),
            state: status.state.map(|s| s.name()),
            state_source: if status.state.is_some() {
                Source::Reported.name()
            } else {
                Source::Unknown.name()
            },
            remote_access: status.remote_access,
            key_known: status.key_known,
            pending: status.pending.as_ref().map(|(guid, command)| {
                serde_json::json!({
                    "guid": guid.as_str(),
                    "command": command.map(command_name),
                })
            }),
        }
    }
}

fn command_name(command: AlarmCommand) -> &'static str {
    match command {
        AlarmCommand::Arm => "arm",
        AlarmCommand::Disarm => "disarm",
    }
}

/// `GET /api/v1/alarm[?client=ID]`.
pub(crate) async fn alarm(
    State(state): State<ApiState>,
    args: Args,
) -> Result<Json<AlarmView>, ApiError> {
    let client = match args.client()? {
        Some(client) => client,
        None => state
            .gateway
            .only_client()
            .await
            .map_err(ApiError::target)?,
    };
    let status = state
        .gateway
        .alarm_status(&client)
        .await
        .map_err(|e| ApiError::store(e, "nothing read"))?;
    Ok(Json(AlarmView::from(&status)))
}

/// `POST /api/v1/alarm[?client=ID]` with `{"state":"arm"|"disarm"}`: the `_de67f` order of the
/// box's next `myactions`. Answers `{"status":"ok","client","guid","replaced"}`.
pub(crate) async fn set_alarm(
    State(state): State<ApiState>,
    args: Args,
    Body(body): Body,
) -> Result<Json<serde_json::Value>, ApiError> {
    let command = match dto::switch(&body, "arm", "disarm")? {
        Switch::OnOrOpen => AlarmCommand::Arm,
        Switch::OffOrClose => AlarmCommand::Disarm,
    };
    let client = args.client()?;
    let queued = state
        .gateway
        .alarm(client.as_ref(), command)
        .await
        .map_err(ApiError::inject)?;
    tracing::info!(client = %queued.client, guid = %queued.guid, command = command_name(command), "alarm order queued");
    Ok(Json(serde_json::json!({
        "status": "ok",
        "client": queued.client.as_str(),
        "guid": queued.guid.as_str(),
        "replaced": queued.replaced.as_ref().map(|g| g.as_str()),
    })))
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
