//! The ten MCP tools, on [`Gateway`] and [`Host`]: what an agent may read and order.
//!
//! Every answer is one text block holding a JSON object. A refused order, an unknown index or a
//! service that cannot be reached is a tool error (`isError: true`) whose text says why and
//! what to do; malformed arguments (an index that is not an integer) are refused by the
//! protocol layer before a tool runs.

use std::sync::Arc;

use essensys_core::{
    catalog, codec,
    gateway::{InjectError, Injected},
    house::SELECTS,
    order::RawCell,
    ClientId, Gateway, Index, Order, Value,
};
use rmcp::{
    handler::server::{router::tool::ToolRouter, wrapper::Parameters},
    model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig},
    schemars, tool, tool_handler, tool_router, ErrorData, ServerHandler,
};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::{
    diagnostic, directory,
    host::{Host, MAX_LOG_LINES},
    Sessions, Vitals,
};

/// What agents are told when they connect.
const INSTRUCTIONS: &str = "Tools of an Essensys home-automation gateway. The box (the house's \
controller) polls the gateway every 2-5 s. Read what it reported with read_exchange_table / \
read_exchange_value. Give orders with send_order or set_exchange_value: they are queued for the \
box, which applies them at its next poll; the table shows a new value only once the box reports \
it. Use find_device_index first to get the exact order for a lamp, shutter, scenario, heating \
zone, water heater or watering. client_id is needed only when several boxes are connected.";

/// The note every queued order carries.
const QUEUED_NOTE: &str = "queued for the box: it applies the order at its next poll (every 2-5 \
s); the exchange table changes only when the box reports the new value";

/// The MCP server: one per session, cheap to clone.
#[derive(Clone)]
pub struct Tools {
    gateway: Arc<Gateway>,
    host: Arc<Host>,
    vitals: Vitals,
    sessions: Sessions,
    tool_router: ToolRouter<Self>,
}

/// Which box (only needed when several are connected).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct BoxArg {
    /// The box's id (its matricule as shown by read_exchange_table or get_system_metrics).
    /// Leave it out when the gateway serves one box.
    pub client_id: Option<String>,
}

/// One cell to read.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReadArgs {
    /// The cell's index in the exchange table, an integer 0..=952 (e.g. 349 = day-zone heating
    /// mode).
    pub index: u64,
    /// The box's id; leave it out when the gateway serves one box.
    pub client_id: Option<String>,
}

/// One cell to write.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SetArgs {
    /// The cell's index, an integer 0..=952. Lamps and shutters are driven by the masks
    /// 605..=622 (use find_device_index to get them).
    pub index: u64,
    /// The value to write, an integer 0..=255.
    pub value: u64,
    /// The box's id; leave it out when the gateway serves one box.
    pub client_id: Option<String>,
}

/// A cell value as older tools send it: a number or its decimal text.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum CellValue {
    /// `64`.
    Number(u64),
    /// `"64"`.
    Text(String),
}

/// One cell of an order.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct OrderCell {
    /// The cell's index, an integer 0..=952.
    pub k: u64,
    /// The value, 0..=255, as a number or decimal text ("64").
    pub v: CellValue,
}

/// An order of several cells.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct OrderArgs {
    /// The cells to write, e.g. [{"k": 613, "v": "64"}] to switch on the bedroom-3 lamp.
    /// Lamp and shutter masks (605..=622) are expanded to the whole scene block, the other
    /// masks set to 0; {"k": 590, "v": "N"} alone launches stored scenario N (2..=8).
    pub params: Vec<OrderCell>,
    /// The box's id; leave it out when the gateway serves one box.
    pub client_id: Option<String>,
}

/// A device to look up.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FindArgs {
    /// What the device is called, in French or English, accents and case ignored: "chambre
    /// 3", "salon", "volet cuisine", "je vais me coucher", "cumulus", "alarme".
    pub device_name: String,
    /// Only this kind: light, shutter, scenario, security, heating, water_heater or irrigation.
    pub category: Option<String>,
    /// Only orders doing this: allumer/on, eteindre/off, ouvrir/open, fermer/close.
    pub action: Option<String>,
}

/// A service of the stack.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ServiceArg {
    /// The service: redis, mosquitto, backend, mcp, nginx, traefik, adguard, prometheus,
    /// alertmanager, node-exporter or openclaw.
    pub name: String,
}

/// A service's logs.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LogsArgs {
    /// The service: redis, mosquitto, backend, mcp, nginx, traefik, adguard, prometheus,
    /// alertmanager, node-exporter or openclaw.
    pub name: String,
    /// How many of the last lines, 1..=500 (default 100).
    pub lines: Option<u64>,
}

/// Whether to repair.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DiagnosticArgs {
    /// Also do the safe repairs (restarting the state store or the MQTT broker through the
    /// service manager when they are down); never deletes orders or state. Default false.
    pub auto_repair: Option<bool>,
}

/// A successful answer: `value` as JSON text.
fn answer(value: &Json) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(value.to_string())])
}

/// A tool error whose text says why.
fn refuse(why: impl std::fmt::Display) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why.to_string())])
}

/// The result of a tool body: `Err` is shown to the agent as a tool error.
type Outcome = Result<Json, String>;

/// Turns a tool body's outcome into the protocol answer.
fn finish(outcome: Outcome) -> Result<CallToolResult, ErrorData> {
    Ok(match outcome {
        Ok(value) => answer(&value),
        Err(why) => refuse(why),
    })
}

/// A client id as given, checked.
fn parse_client(raw: Option<&str>) -> Result<Option<ClientId>, String> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| ClientId::new(s.trim()).map_err(|e| format!("client_id {s:?}: {e}")))
        .transpose()
}

/// An index as given, checked against the table.
fn parse_index(raw: u64) -> Result<Index, String> {
    u16::try_from(raw)
        .ok()
        .and_then(|n| Index::new(n).ok())
        .ok_or_else(|| format!("index {raw} is not in the exchange table: indices are 0..=952"))
}

/// What a cell holds, for people and agents: its value, its bits for bit fields (alerts, box
/// state, lamp/shutter masks), the mode's
/// label for selects.
fn describe(index: Index, value: Value) -> Json {
    let info = index.info();
    let mut cell = json!({
        "index": index.get(),
        "name": info.name,
        "access": info.access.code(),
        "value": value.get(),
    });
    if codec::is_binary(index) || catalog::in_block(index) {
        cell["bits_lsb_first"] = String::from_utf8_lossy(&codec::to_binary(value))
            .into_owned()
            .into();
    }
    if let Some(label) = SELECTS
        .iter()
        .find(|s| s.index == index)
        .and_then(|s| s.label_of(value))
    {
        cell["label"] = label.into();
    }
    cell
}

/// What an injected order became.
fn queued(injected: &Injected) -> Json {
    json!({
        "queued": true,
        "client_id": injected.client.as_str(),
        "actions": injected.enqueued.iter().map(|e| json!({
            "guid": e.guid.as_str(),
            "merged_into_pending_action": e.merged,
        })).collect::<Vec<_>>(),
        "note": QUEUED_NOTE,
    })
}

/// Why an order was not queued, for the agent.
fn refused(e: &InjectError) -> String {
    match e {
        InjectError::Refused(_) => format!("order refused, nothing was queued: {e}"),
        _ => format!("order not queued: {e}"),
    }
}

#[tool_router]
impl Tools {
    /// Tools on `gateway` and `host`, reporting `vitals` and the open SSE `sessions`.
    pub fn new(gateway: Arc<Gateway>, host: Arc<Host>, vitals: Vitals, sessions: Sessions) -> Self {
        Self {
            gateway,
            host,
            vitals,
            sessions,
            tool_router: Self::tool_router(),
        }
    }

    /// The box an order or read is for.
    async fn target(&self, raw: Option<&str>) -> Result<ClientId, String> {
        match parse_client(raw)? {
            Some(client) => Ok(client),
            None => self.gateway.only_client().await.map_err(|e| e.to_string()),
        }
    }

    /// When `index` of `client` took its current value, if the history says.
    async fn since(&self, client: &ClientId, index: Index) -> Option<String> {
        let history = self.gateway.history(client, index).await.ok()?;
        history.last().map(|s| s.at.to_string())
    }

    /// Reads every cell the box reported: index, firmware name, access, value (with its bits for
    /// lamp/shutter masks and the mode's name for heating, water heater and watering) and when
    /// it took that value.
    #[tool]
    async fn read_exchange_table(
        &self,
        Parameters(args): Parameters<BoxArg>,
    ) -> Result<CallToolResult, ErrorData> {
        finish(self.table(args).await)
    }

    async fn table(&self, args: BoxArg) -> Outcome {
        let client = self.target(args.client_id.as_deref()).await?;
        let cells = self
            .gateway
            .table(&client)
            .await
            .map_err(|e| e.to_string())?;
        let last_seen = self
            .gateway
            .clients()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|c| c.id == client)
            .map(|c| c.last_seen.to_string());
        let mut out = Vec::with_capacity(cells.len());
        for param in &cells {
            let mut cell = describe(param.index, param.value);
            cell["since"] = self.since(&client, param.index).await.into();
            out.push(cell);
        }
        Ok(json!({
            "client_id": client.as_str(),
            "box_last_seen": last_seen,
            "count": out.len(),
            "cells": out,
        }))
    }

    /// Reads one cell of the exchange table as the box last reported it: firmware name, access,
    /// value (decoded as in read_exchange_table) and when it took that value. A cell the box
    /// never reported says so.
    #[tool]
    async fn read_exchange_value(
        &self,
        Parameters(args): Parameters<ReadArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        finish(self.value(args).await)
    }

    async fn value(&self, args: ReadArgs) -> Outcome {
        let index = parse_index(args.index)?;
        let client = self.target(args.client_id.as_deref()).await?;
        let values = self
            .gateway
            .read_values(&client, &[index])
            .await
            .map_err(|e| e.to_string())?;
        let info = index.info();
        Ok(match values.first().and_then(|(_, v)| *v) {
            Some(value) => {
                let mut cell = describe(index, value);
                cell["client_id"] = client.as_str().into();
                cell["reported"] = true.into();
                cell["since"] = self.since(&client, index).await.into();
                cell
            }
            None => json!({
                "client_id": client.as_str(),
                "index": index.get(),
                "name": info.name,
                "access": info.access.code(),
                "reported": false,
                "note": format!(
                    "box {client} has not reported cell {index} ({}) yet: it reports the cells the \
                     gateway asks for, 30 per poll",
                    info.name
                ),
            }),
        })
    }

    /// Orders the box to write one cell. The order is validated (index 0..=952, value 0..=255,
    /// a cell the server may write), expanded (a lamp/shutter mask becomes the whole scene
    /// block) and queued; the box applies it at its next poll. The table changes only when the
    /// box reports the new value. Answers with the action guid(s).
    #[tool]
    async fn set_exchange_value(
        &self,
        Parameters(args): Parameters<SetArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let cells = vec![RawCell {
            k: args.index,
            v: args.value.to_string(),
        }];
        finish(self.order(cells, args.client_id.as_deref()).await)
    }

    /// Sends an order of several cells to the box, e.g. params [{"k": 613, "v": "64"}] to switch
    /// on the bedroom-3 lamp (get orders from find_device_index). Validated, expanded to the
    /// full scene block for lamp/shutter masks, merged with a pending order where safe, and
    /// queued; nothing is queued if any cell is refused. Answers with the action guid(s).
    #[tool]
    async fn send_order(
        &self,
        Parameters(args): Parameters<OrderArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let cells = args
            .params
            .into_iter()
            .map(|cell| RawCell {
                k: cell.k,
                v: match cell.v {
                    CellValue::Number(n) => n.to_string(),
                    CellValue::Text(text) => text,
                },
            })
            .collect();
        finish(self.order(cells, args.client_id.as_deref()).await)
    }

    async fn order(&self, cells: Vec<RawCell>, client: Option<&str>) -> Outcome {
        let client = parse_client(client)?;
        let order = Order::Cells(cells);
        match self.gateway.inject(client.as_ref(), &order).await {
            Ok(injected) => Ok(queued(&injected)),
            Err(e) => Err(refused(&e)),
        }
    }

    /// Finds lamps, dimmers, shutters, the awning, scenarios, heating zones, the water heater,
    /// watering or the alarm by name (French or English, accents and case ignored), best match
    /// first, each with the cells it uses and the exact orders to give with send_order.
    #[tool]
    async fn find_device_index(
        &self,
        Parameters(args): Parameters<FindArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        finish(
            directory::find(
                &args.device_name,
                args.category.as_deref(),
                args.action.as_deref(),
            )
            .map(|matches| {
                json!({
                    "query": args.device_name,
                    "count": matches.len(),
                    "matches": matches,
                })
            })
            .map_err(|e| e.to_string()),
        )
    }

    /// Lists the stack's services (redis, mosquitto, backend, mcp, nginx, …) with their state,
    /// from Docker or systemd; says so when neither manages services on this host.
    #[tool]
    async fn list_service_status(&self) -> Result<CallToolResult, ErrorData> {
        finish(
            self.host
                .services()
                .await
                .map(
                    |services| json!({"manager": self.host.manager().name(), "services": services}),
                )
                .map_err(|e| e.to_string()),
        )
    }

    /// Restarts one of the stack's services (allow-listed names only) and reports its state.
    #[tool]
    async fn restart_service(
        &self,
        Parameters(args): Parameters<ServiceArg>,
    ) -> Result<CallToolResult, ErrorData> {
        tracing::info!(service = %args.name, "MCP: restart asked");
        finish(
            self.host
                .restart(&args.name)
                .await
                .map(|status| json!({"restarted": true, "status": status}))
                .map_err(|e| e.to_string()),
        )
    }

    /// Reads the last lines one of the stack's services logged (allow-listed names only).
    #[tool]
    async fn read_service_logs(
        &self,
        Parameters(args): Parameters<LogsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let lines = args.lines.map_or(100, |n| {
            usize::try_from(n)
                .unwrap_or(MAX_LOG_LINES)
                .min(MAX_LOG_LINES)
        });
        finish(
            self.host
                .logs(&args.name, lines)
                .await
                .map(|logs| json!(logs))
                .map_err(|e| e.to_string()),
        )
    }

    /// The machine's figures (load, memory, disk, uptime, CPU temperature where the board has a
    /// sensor) and the gateway's (each box with its last poll and pending actions, the store's
    /// health, request counters). A figure that cannot be read is null.
    #[tool]
    async fn get_system_metrics(&self) -> Result<CallToolResult, ErrorData> {
        let figures = self.host.figures().await;
        let now = self.gateway.now();
        let mut boxes = Vec::new();
        let store = match self.gateway.clients().await {
            Ok(clients) => {
                for client in clients {
                    let pending = self.gateway.pending(&client.id).await.map(|p| p.len()).ok();
                    boxes.push(json!({
                        "client_id": client.id.as_str(),
                        "last_poll": client.last_seen.to_string(),
                        "seconds_since_last_poll": now.0.saturating_sub(client.last_seen.0) / 1000,
                        "pending_actions": pending,
                        "firmware_version": client.version,
                    }));
                }
                json!({"reachable": true})
            }
            Err(e) => json!({"reachable": false, "error": e.to_string()}),
        };
        let mut store = store;
        store["kind"] = self.vitals.store_kind.into();
        if let Some(health) = &self.vitals.store_health {
            let health = health();
            store["up"] = health.up.into();
            store["health"] = health.detail.into();
        }
        let counters: serde_json::Map<String, Json> = self
            .vitals
            .counters
            .as_ref()
            .map(|c| c().into_iter().map(|(k, v)| (k, v.into())).collect())
            .unwrap_or_default();
        finish(Ok(json!({
            "host": figures,
            "gateway": {
                "now": now.to_string(),
                "boxes": boxes,
                "store": store,
                "mqtt_connected": self.vitals.mqtt_connected.as_ref().map(|f| f()),
                "mcp_sse_sessions": self.sessions.len(),
                "counters": counters,
            },
        })))
    }

    /// Runs named checks (state store reachable, each box polled recently, queues not stuck,
    /// clock sane, MQTT connected when configured), each with pass/fail and what to do. With
    /// auto_repair, also does the safe repairs and says what it did.
    #[tool]
    async fn run_self_diagnostic(
        &self,
        Parameters(args): Parameters<DiagnosticArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let report = diagnostic::run(
            &self.gateway,
            &self.host,
            &self.vitals,
            args.auto_repair.unwrap_or(false),
        )
        .await;
        finish(Ok(json!(report)))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(INSTRUCTIONS)
            .with_server_info(
                Implementation::new("essensys-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("Essensys gateway"),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_outside_the_table_are_refused_with_the_range() {
        assert_eq!(parse_index(952).map(Index::get), Ok(952));
        for raw in [953, 65_536, u64::MAX] {
            let e = parse_index(raw).unwrap_err();
            assert!(e.contains("0..=952"), "{e}");
        }
    }

    #[test]
    fn cells_are_decoded_for_people() {
        let index = |n| Index::new(n).unwrap();
        let mask = describe(index(613), Value(64));
        assert_eq!(mask["bits_lsb_first"], "00000010");
        assert_eq!(mask["name"], "Scenario1.Allumer_CHB_LSB");
        assert_eq!(mask["access"], "RWS");
        let heating = describe(index(349), Value(17));
        assert_eq!(heating["label"], "Confort");
        assert!(heating.get("bits_lsb_first").is_none());
    }

    #[test]
    fn a_blank_client_id_means_the_only_box() {
        assert_eq!(parse_client(Some("  ")), Ok(None));
        assert!(parse_client(Some("not a valid id /")).is_err());
    }
}
