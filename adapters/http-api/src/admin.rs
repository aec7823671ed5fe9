//! `/api/admin/*`: write cells, read cells, list boxes and their queues.

use axum::{extract::State, Json};
use essensys_core::{ClientId, Order};
use serde::Serialize;

use crate::{
    dto::{self, ActionView, CellView, ClientView, InjectReply},
    error::ApiError,
    extract::{Args, Body, Segment},
    ApiState,
};

/// Queues `order` for `client` (or the only box) through the one use case that queues
/// anything; shared by every order route.
pub(crate) async fn queue(
    state: &ApiState,
    client: Option<ClientId>,
    order: &Order,
) -> Result<Json<InjectReply>, ApiError> {
    let injected = state
        .gateway
        .inject(client.as_ref(), order)
        .await
        .map_err(ApiError::inject)?;
    let guids: Vec<&str> = injected.enqueued.iter().map(|e| e.guid.as_str()).collect();
    let merged = injected.enqueued.iter().filter(|e| e.merged).count();
    tracing::info!(client = %injected.client, ?guids, merged, "order queued");
    Ok(Json(InjectReply::from(injected)))
}

/// `POST /api/admin/inject[?client=ID]` with `{"k":613,"v":"64"}` or an array of them.
pub(crate) async fn inject(
    State(state): State<ApiState>,
    args: Args,
    Body(body): Body,
) -> Result<Json<InjectReply>, ApiError> {
    let client = args.client()?;
    let order = Order::Cells(dto::cells(&body)?);
    queue(&state, client, &order).await
}

/// `GET /api/admin/exchange?keys=349,11[&client=ID]`.
#[derive(Debug, Serialize)]
pub(crate) struct ExchangeReply {
    client: String,
    values: Vec<CellView>,
}

/// `GET /api/admin/exchange?keys=349,11[&client=ID]`: the last reported values, `null` where
/// never reported. An unknown `client` is a 404 (so a typo does not read as "all null").
pub(crate) async fn exchange(
    State(state): State<ApiState>,
    args: Args,
) -> Result<Json<ExchangeReply>, ApiError> {
    let keys = dto::keys(args.get("keys"))?;
    let client = match args.client()? {
        Some(client) => known(&state, client).await?,
        None => state
            .gateway
            .only_client()
            .await
            .map_err(ApiError::target)?,
    };
    let values = state
        .gateway
        .read_values(&client, &keys)
        .await
        .map_err(|e| ApiError::store(e, "nothing read"))?;
    Ok(Json(ExchangeReply {
        client: client.to_string(),
        values: values
            .into_iter()
            .map(|(index, value)| CellView::new(index, value))
            .collect(),
    }))
}

/// `client` if a box of that id has connected, else a 404 that lists the known ones.
async fn known(state: &ApiState, client: ClientId) -> Result<ClientId, ApiError> {
    let clients = state
        .gateway
        .clients()
        .await
        .map_err(|e| ApiError::store(e, "nothing read"))?;
    if clients.iter().any(|c| c.id == client) {
        return Ok(client);
    }
    let ids: Vec<String> = clients.iter().map(|c| c.id.to_string()).collect();
    Err(ApiError::not_found(format!(
        "no box {client:?} has connected: known boxes are [{}]",
        ids.join(", ")
    )))
}

/// `GET /api/admin/clients`.
#[derive(Debug, Serialize)]
pub(crate) struct ClientsReply {
    clients: Vec<ClientView>,
}

/// `GET /api/admin/clients`: every box seen, with its number of pending actions.
pub(crate) async fn clients(State(state): State<ApiState>) -> Result<Json<ClientsReply>, ApiError> {
    let failed = |e| ApiError::store(e, "nothing read");
    let infos = state.gateway.clients().await.map_err(failed)?;
    let mut clients = Vec::with_capacity(infos.len());
    for info in &infos {
        let pending = state.gateway.pending(&info.id).await.map_err(failed)?;
        clients.push(ClientView::new(info, pending.len()));
    }
    Ok(Json(ClientsReply { clients }))
}

/// `POST /api/admin/clients/{id}/forget`: forgets the box's pin (open mode's trust on first
/// use), for a box that was replaced or re-keyed: the next matricule seen for it is trusted.
pub(crate) async fn forget(
    State(state): State<ApiState>,
    Segment(id): Segment,
) -> Result<Json<serde_json::Value>, ApiError> {
    let client = ClientId::new(&id).map_err(|e| {
        ApiError::bad_request(format!(
            "{e}: name a box as GET /api/admin/clients lists it"
        ))
    })?;
    state
        .gateway
        .forget_pin(&client)
        .await
        .map_err(|e| ApiError::store(e, "nothing forgotten"))?;
    tracing::info!(%client, "pin forgotten: the next matricule seen for this box is trusted");
    Ok(Json(serde_json::json!({
        "status": "ok",
        "client": client.as_str(),
        "note": "the next matricule this box id sends is trusted and pinned",
    })))
}

/// One box's queue, a page of it: `{"client":"…","total":N,"offset":O,"actions":[…]}`.
#[derive(Debug, Serialize)]
pub(crate) struct QueueView {
    client: String,
    /// Every action waiting.
    total: usize,
    /// The first shown.
    offset: usize,
    actions: Vec<ActionView>,
}

/// Actions shown per queue by default, and at most (`?limit=`).
const PAGE: usize = 100;
const MAX_PAGE: usize = 500;

/// `?offset=&limit=` of a page of actions.
#[derive(Clone, Copy)]
struct Page {
    offset: usize,
    limit: usize,
}

impl Page {
    fn of(args: &Args) -> Result<Self, ApiError> {
        let number = |name: &str, default: usize| {
            args.get(name).map_or(Ok(default), |raw| {
                raw.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("{name}={raw:?} is not a whole number"))
                })
            })
        };
        let limit = number("limit", PAGE)?;
        if limit == 0 || limit > MAX_PAGE {
            return Err(ApiError::bad_request(format!(
                "limit={limit}: give 1..={MAX_PAGE} actions per page"
            )));
        }
        Ok(Self {
            offset: number("offset", 0)?,
            limit,
        })
    }
}

/// `GET /api/admin/actions`: one queue, or every seen box's.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ActionsReply {
    /// `?client=ID`: `{"client":"…","actions":[…]}`.
    One(QueueView),
    /// No client: `{"clients":[{"client":"…","actions":[…]},…]}`.
    All {
        /// Every seen box's queue, by id.
        clients: Vec<QueueView>,
    },
}

/// `GET /api/admin/actions[?client=ID][&offset=O][&limit=N]`: pending actions, oldest first,
/// at most `limit` (default 100, at most 500) per queue from `offset`, with each queue's
/// `total`. With a client, its queue even if it never connected (orders may be queued ahead);
/// without, every seen box's.
pub(crate) async fn actions(
    State(state): State<ApiState>,
    args: Args,
) -> Result<Json<ActionsReply>, ApiError> {
    let page = Page::of(&args)?;
    if let Some(client) = args.client()? {
        return Ok(Json(ActionsReply::One(
            queue_of(&state, client, page).await?,
        )));
    }
    let infos = state
        .gateway
        .clients()
        .await
        .map_err(|e| ApiError::store(e, "nothing read"))?;
    let mut clients = Vec::with_capacity(infos.len());
    for info in infos {
        clients.push(queue_of(&state, info.id, page).await?);
    }
    Ok(Json(ActionsReply::All { clients }))
}

/// A page of the pending actions of `client`.
async fn queue_of(state: &ApiState, client: ClientId, page: Page) -> Result<QueueView, ApiError> {
    let pending = state
        .gateway
        .pending(&client)
        .await
        .map_err(|e| ApiError::store(e, "nothing read"))?;
    Ok(QueueView {
        client: client.to_string(),
        total: pending.len(),
        offset: page.offset,
        actions: pending
            .iter()
            .skip(page.offset)
            .take(page.limit)
            .map(ActionView::from)
            .collect(),
    })
}
