//! The router driven with `oneshot` over a gateway on the in-memory adapters.

use std::sync::Arc;

use async_trait::async_trait;
use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use essensys_core::{
    catalog::Device,
    event::EventKind,
    gateway::{GatewayConfig, Ports},
    matricule::Key,
    ports::{Change, ClientInfo, Contact, ExchangeStore, PortError, Sample, Timestamp},
    state::{Acknowledged, DeviceUpdate},
    ClientId, Gateway, Index, Param, Value,
};
use essensys_http_api::{router, ApiState};
use essensys_memory::{CountingGuids, ManualClock, MemoryQueue, MemoryStore, RecordedEvents};
use http_body_util::BodyExt;
use serde_json::{json, Value as Json};
use tower::ServiceExt;

const TOKEN: &str = "s3cret-token";

struct Api {
    gateway: Arc<Gateway>,
    router: Router,
    events: Arc<RecordedEvents>,
}

/// The placeholder key of `legacy-protocol.md` and the box id it gives.
const KEY: &str = "12345678901234567890123456789012";
const KEYED_BOX: &str = "767179c7a2bff196";

/// What a request got back.
struct Reply {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Reply {
    fn json(&self) -> Json {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.text))
            .to_string()
    }
}

fn ports(store: Arc<dyn ExchangeStore>, events: Arc<RecordedEvents>) -> Ports {
    Ports {
        store,
        queue: Arc::new(MemoryQueue::new()),
        events,
        clock: Arc::new(ManualClock::new(contact().at)),
        guids: Arc::new(CountingGuids::default()),
    }
}

fn api_on(store: Arc<dyn ExchangeStore>, token: Option<&str>) -> Api {
    api_with(store, token, GatewayConfig::default())
}

fn api_with(store: Arc<dyn ExchangeStore>, token: Option<&str>, config: GatewayConfig) -> Api {
    let events = Arc::new(RecordedEvents::default());
    let gateway = Arc::new(Gateway::new(ports(store, events.clone()), config));
    let state = ApiState {
        admin_token: token.map(str::to_string),
        debug: Arc::new(|| json!({"connections": 7})),
        ..ApiState::new(gateway.clone(), "memory")
    };
    Api {
        gateway,
        router: router(state),
        events,
    }
}

/// An API whose gateway knows [`KEY`].
fn keyed_api() -> Api {
    let config = GatewayConfig {
        box_keys: vec![Key::parse(KEY).expect("key")],
        ..GatewayConfig::default()
    };
    api_with(Arc::new(MemoryStore::new()), None, config)
}

fn api() -> Api {
    api_on(Arc::new(MemoryStore::new()), None)
}

fn id(s: &str) -> ClientId {
    ClientId::new(s).expect("client id")
}

fn contact() -> Contact {
    Contact {
        // 2026-11-27T06:00:12.345Z
        at: Timestamp(1_795_759_212_345),
        address: "192.0.2.7".parse().ok(),
        authorization: None,
    }
}

impl Api {
    /// Makes box `name` seen, as its first `serverinfos` poll does.
    async fn seen(&self, name: &str) {
        self.gateway
            .server_infos(&id(name), &contact(), &mut Vec::new())
            .await
            .expect("poll");
    }

    async fn report(&self, name: &str, body: &str) {
        self.gateway
            .report_status(&id(name), &contact(), body.as_bytes())
            .await
            .expect("report");
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Body::from(body.unwrap_or_default().to_string()))
            .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            content_type,
            text: String::from_utf8(bytes.to_vec()).expect("utf-8"),
        }
    }

    /// Opens the event stream at `uri`, resuming after `last` when given.
    async fn events(&self, uri: &str, last: Option<u64>) -> axum::response::Response {
        let mut request = Request::get(uri);
        if let Some(last) = last {
            request = request.header("last-event-id", last.to_string());
        }
        let request = request.body(Body::empty()).expect("request");
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, None, None).await
    }

    async fn post(&self, uri: &str, body: &str) -> Reply {
        self.send(Method::POST, uri, Some(body), None).await
    }

    /// The params of each pending action of `name`, as `(k, v)`.
    async fn pending(&self, name: &str) -> Vec<Vec<(u16, u8)>> {
        self.gateway
            .pending(&id(name))
            .await
            .expect("pending")
            .iter()
            .map(|q| {
                q.action
                    .command
                    .iter_params()
                    .map(|p| (p.index.get(), p.value.get()))
                    .collect()
            })
            .collect()
    }
}

fn param(actions: &[Vec<(u16, u8)>], action: usize, k: u16) -> Option<u8> {
    actions
        .get(action)?
        .iter()
        .find(|(index, _)| *index == k)
        .map(|(_, v)| *v)
}

// ---------------------------------------------------------------- inject

#[tokio::test]
async fn inject_one_cell_queues_a_full_scene_for_the_only_box() {
    let api = api();
    api.seen("box1").await;
    let reply = api.post("/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["client"], "box1");
    assert_eq!(body["guid"], "00000000-0000-4000-8000-000000000001");
    assert_eq!(
        body["guids"],
        json!(["00000000-0000-4000-8000-000000000001"])
    );
    assert_eq!(body["merged"], json!([false]));
    let pending = api.pending("box1").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(param(&pending, 0, 590), Some(1));
    assert_eq!(param(&pending, 0, 613), Some(64));
    assert_eq!(pending[0].len(), 19, "590 + the whole block 605..=622");
}

#[tokio::test]
async fn a_full_queue_is_429_and_protected_cells_are_400_naming_what_to_use() {
    let config = GatewayConfig {
        max_pending: 1,
        ..GatewayConfig::default()
    };
    let api = api_with(Arc::new(MemoryStore::new()), None, config);
    api.seen("box1").await;
    let reply = api.post("/api/admin/inject", r#"{"k":349,"v":"17"}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = api.post("/api/admin/inject", r#"{"k":350,"v":"17"}"#).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text
    );
    assert!(
        reply.error().contains("1 actions waiting"),
        "{}",
        reply.text
    );
    assert_eq!(api.pending("box1").await.len(), 1, "what was queued stays");
    for (k, says) in [(930, "remote-access key"), (407, "POST /api/v1/alarm")] {
        let reply = api
            .post("/api/admin/inject", &format!(r#"{{"k":{k},"v":"1"}}"#))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert!(reply.error().contains(says), "{}", reply.text);
    }
}

#[tokio::test]
async fn inject_an_array_with_numeric_values_and_a_named_client() {
    let api = api();
    // a client that never polled: orders may be queued ahead for it
    let reply = api
        .post(
            "/api/admin/inject?client=box9",
            r#"[{"k":349,"v":17},{"k":350,"v":"18"}]"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["client"], "box9");
    assert_eq!(api.pending("box9").await, vec![vec![(349, 17), (350, 18)]]);
    // a compatible scene merges into the unsent one: same guid, merged = true
    let first = api
        .post("/api/admin/inject?client=box9", r#"{"k":613,"v":64}"#)
        .await;
    let second = api
        .post("/api/admin/inject?client=box9", r#"{"k":613,"v":1}"#)
        .await;
    assert_eq!(second.json()["merged"], json!([true]));
    assert_eq!(second.json()["guid"], first.json()["guid"]);
    assert_eq!(param(&api.pending("box9").await, 1, 613), Some(65));
}

#[tokio::test]
async fn refused_orders_are_400_json_naming_the_cell_and_queue_nothing() {
    let api = api();
    api.seen("box1").await;
    let cases: &[(Option<&str>, &str)] = &[
        (Some(r#"{"k":953,"v":"1"}"#), "index 953"),
        (Some(r#"{"k":613,"v":256}"#), r#"value "256" is above 255"#),
        (Some(r#"{"k":613,"v":"256"}"#), r#"value "256""#),
        (
            Some(r#"{"k":613,"v":"abc"}"#),
            r#"value "abc" is not a decimal number"#,
        ),
        (Some(r#"{"k":613,"v":-1}"#), r#"value "-1""#),
        (Some(r#"{"k":613,"v":1.5}"#), r#"value "1.5""#),
        (
            Some(r#"{"k":0,"v":"1"}"#),
            "index 0 (Version_SoftBP_Embedded) is not writable",
        ),
        (
            Some(r#"{"k":-1,"v":"1"}"#),
            "k must be a non-negative integer",
        ),
        (
            Some(r#"{"k":"613","v":"1"}"#),
            "k must be a non-negative integer",
        ),
        (Some(r#"{"v":"1"}"#), "k is missing"),
        (Some(r#"{"k":613}"#), "v of index 613 is missing"),
        (
            Some(r#"[{"k":349,"v":"1"},{"k":953,"v":"1"}]"#),
            "cell 2: index 953",
        ),
        (Some(r#"[]"#), "the order is empty"),
        (Some(r#"{"k":613,"v":"64""#), "not valid JSON"),
        (Some("k=613&v=64"), "not valid JSON"),
        (Some("\"613\""), "must be a cell"),
        (None, "the request body is empty"),
    ];
    for (body, needle) in cases {
        let reply = api
            .send(Method::POST, "/api/admin/inject", *body, None)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body:?}: {}",
            reply.text
        );
        assert!(
            reply.content_type.starts_with("application/json"),
            "{body:?}"
        );
        let error = reply.error();
        assert!(
            error.contains(needle),
            "{body:?}: {error:?} lacks {needle:?}"
        );
        assert!(
            error.starts_with(|c: char| !c.is_uppercase()),
            "lower-case: {error:?}"
        );
    }
    assert!(api.pending("box1").await.is_empty(), "nothing queued");
}

#[tokio::test]
async fn orders_without_a_box_are_409_and_with_two_boxes_400() {
    let api = api();
    let reply = api.post("/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert!(reply.error().contains("no box has connected yet"));

    api.seen("box1").await;
    api.seen("box2").await;
    let reply = api.post("/api/admin/inject", r#"{"k":613,"v":"64"}"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.error().contains("box1, box2"), "{}", reply.error());
    assert!(reply.error().contains("client"));
    assert!(api.pending("box1").await.is_empty());
    assert!(api.pending("box2").await.is_empty());

    let reply = api
        .post("/api/admin/inject?client=box2", r#"{"k":613,"v":"64"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(api.pending("box2").await.len(), 1);
}

#[tokio::test]
async fn an_invalid_client_is_400() {
    let api = api();
    for uri in [
        "/api/admin/inject?client=a%20b",
        "/api/admin/inject?client=",
        "/api/admin/inject?client=a:b",
    ] {
        let reply = api.post(uri, r#"{"k":613,"v":"64"}"#).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.error().contains("client id"), "{}", reply.error());
    }
    let reply = api.get("/api/admin/exchange?keys=1&client=a/b").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------- reads

#[tokio::test]
async fn exchange_reads_decoded_values_and_null_for_unreported_cells() {
    let api = api();
    let reply = api.get("/api/admin/exchange?keys=349").await;
    assert_eq!(
        reply.status,
        StatusCode::CONFLICT,
        "no box yet: {}",
        reply.text
    );

    api.report(
        "box1",
        r#"{"version":"V37","ek":[{k:349,v:"17"},{k:11,v:"10000000"}]}"#,
    )
    .await;
    let reply = api.get("/api/admin/exchange?keys=349,11,350").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"client":"box1","values":[{"k":349,"v":"17"},{"k":11,"v":"1"},{"k":350,"v":null}]})
    );
    let named = api.get("/api/admin/exchange?client=box1&keys=11").await;
    assert_eq!(named.json()["values"], json!([{"k":11,"v":"1"}]));

    let unknown = api.get("/api/admin/exchange?client=nobox&keys=11").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.error().contains("box1"),
        "lists known boxes: {}",
        unknown.error()
    );

    for (uri, needle) in [
        ("/api/admin/exchange?keys=349,abc", "\"abc\""),
        ("/api/admin/exchange?keys=953", "953"),
        ("/api/admin/exchange?keys=-1", "\"-1\""),
        ("/api/admin/exchange", "keys=349,11"),
    ] {
        let reply = api.get(uri).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.error().contains(needle), "{uri}: {}", reply.error());
    }
}

#[tokio::test]
async fn clients_and_actions_are_listed() {
    let api = api();
    api.report("box1", r#"{"version":"V37","ek":[{k:349,v:"17"}]}"#)
        .await;
    api.seen("box2").await;
    api.post("/api/admin/inject?client=box1", r#"{"k":590,"v":"5"}"#)
        .await;

    let clients = api.get("/api/admin/clients").await;
    assert_eq!(clients.status, StatusCode::OK);
    assert_eq!(
        clients.json(),
        json!({"clients":[
            {"id":"box1","address":"192.0.2.7","version":"37","last_seen":"2026-11-27T06:00:12.345Z","pending":1},
            {"id":"box2","address":"192.0.2.7","version":null,"last_seen":"2026-11-27T06:00:12.345Z","pending":0},
        ]})
    );

    let one = api.get("/api/admin/actions?client=box1").await;
    assert_eq!(
        one.json(),
        json!({"client":"box1","total":1,"offset":0,"actions":[
            {"guid":"00000000-0000-4000-8000-000000000001","sent":false,"params":[{"k":590,"v":"5"}]}
        ]})
    );
    let all = api.get("/api/admin/actions").await.json();
    assert_eq!(all["clients"][0]["client"], "box1");
    assert_eq!(
        all["clients"][0]["actions"][0]["params"],
        json!([{"k":590,"v":"5"}])
    );
    assert_eq!(
        all["clients"][1],
        json!({"client":"box2","total":0,"offset":0,"actions":[]})
    );
}

#[tokio::test]
async fn a_long_queue_is_read_page_by_page() {
    let api = api();
    api.seen("box1").await;
    for k in 100..140 {
        let reply = api
            .post("/api/admin/inject", &format!(r#"{{"k":{k},"v":"1"}}"#))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let page = api
        .get("/api/admin/actions?client=box1&offset=35&limit=10")
        .await
        .json();
    assert_eq!(page["total"], 40);
    assert_eq!(page["offset"], 35);
    let params: Vec<Json> = page["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["params"][0]["k"].clone())
        .collect();
    assert_eq!(params, (135..140).map(Json::from).collect::<Vec<_>>());
    let first = api.get("/api/admin/actions?client=box1").await.json();
    assert_eq!(
        first["actions"].as_array().map(Vec::len),
        Some(40),
        "default page 100"
    );
    for bad in ["limit=0", "limit=501", "offset=-1", "limit=x"] {
        let reply = api.get(&format!("/api/admin/actions?{bad}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text
        );
    }
}

// ---------------------------------------------------------------- device API

#[tokio::test]
async fn devices_are_listed_without_invented_state() {
    let api = api();
    let reply = api.get("/api/v1/devices").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let devices = body["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), essensys_core::catalog::devices().len());
    let lamp = devices
        .iter()
        .find(|d| d["id"] == "petite_chambre_3" && d["kind"] == "light")
        .expect("bedroom 3 lamp");
    assert_eq!(lamp["label"], "Petite chambre 3");
    assert_eq!(lamp["state"], Json::Null);
    assert!(lamp["state_source"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(lamp["path"], "/api/v1/lights/petite_chambre_3");
    let awning = devices
        .iter()
        .find(|d| d["kind"] == "awning")
        .expect("awning");
    assert_eq!(awning["path"], "/api/v1/shutters/store_terrasse");
    assert!(devices.iter().all(|d| d["state"].is_null()));
}

#[tokio::test]
async fn a_device_shows_the_state_the_box_acknowledged() {
    let api = api();
    api.seen("box1").await;
    let reply = api
        .post("/api/v1/lights/petite_chambre_3", r#"{"state":"on"}"#)
        .await;
    let guid = reply.json()["guid"].as_str().expect("guid").to_string();
    let lamp = |body: &Json| {
        body["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .find(|d| d["id"] == "petite_chambre_3" && d["kind"] == "light")
            .cloned()
            .expect("lamp")
    };
    let queued = api.get("/api/v1/devices").await.json();
    assert_eq!(queued["client"], "box1");
    assert_eq!(lamp(&queued)["state"], Json::Null, "queued is not done");
    assert_eq!(lamp(&queued)["state_source"], "unknown");
    api.gateway.ack(&id("box1"), &guid).await.expect("ack");
    let done = api.get("/api/v1/devices").await.json();
    assert_eq!(lamp(&done)["state"], "on");
    assert_eq!(lamp(&done)["state_source"], "acknowledged");
    assert_eq!(lamp(&done)["since"], "2026-11-27T06:00:12.345Z");
    let others = done["devices"].as_array().expect("devices");
    assert_eq!(others.iter().filter(|d| d["state"].is_null()).count(), 47);
}

#[tokio::test]
async fn modes_show_reported_values_and_set_them_by_label() {
    let api = api();
    api.report("box1", r#"{"version":"V37","ek":[{k:349,v:"18"},{k:353,v:"1"},{k:463,v:"208"},{k:464,v:"7"},{k:11,v:"01000000"}]}"#)
        .await;
    let body = api.get("/api/v1/devices").await.json();
    let mode = |key: &str| {
        body["modes"]
            .as_array()
            .expect("modes")
            .iter()
            .find(|m| m["key"] == key)
            .cloned()
            .expect("mode")
    };
    assert_eq!(mode("heating_zj")["state"], "Eco");
    assert_eq!(mode("heating_zj")["value"], 18);
    assert_eq!(mode("heating_zj")["state_source"], "reported");
    assert_eq!(mode("water_heater")["state"], "Heures creuses");
    assert_eq!(mode("heating_zn")["state_source"], "unknown");
    assert_eq!(body["reported"]["apparent_power_va"], 208 + 256 * 7);
    assert_eq!(body["reported"]["leak_washing_machine"], true);
    assert_eq!(body["reported"]["leak_dishwasher"], false);
    let reply = api
        .post("/api/v1/modes/heating_zj", r#"{"state":"Confort"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let pending = api.pending("box1").await;
    assert_eq!(param(&pending, 0, 349), Some(17));
    let reply = api
        .post("/api/v1/modes/heating_zsb1", r#"{"state":"Anticipé"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.error().contains("Confort"), "{}", reply.error());
    let reply = api.post("/api/v1/modes/nope", r#"{"state":"Eco"}"#).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_alarm_needs_the_box_key_and_the_keypad_consent() {
    let plain = api();
    plain.seen(KEYED_BOX).await;
    let reply = plain.post("/api/v1/alarm", r#"{"state":"arm"}"#).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.error().contains("--box-key"), "{}", reply.error());

    let api = keyed_api();
    api.seen(KEYED_BOX).await;
    let reply = api.post("/api/v1/alarm", r#"{"state":"arm"}"#).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let guid = reply.json()["guid"].as_str().expect("guid").to_string();
    let status = api.get("/api/v1/alarm").await.json();
    assert_eq!(status["pending"], json!({"guid": guid, "command": "arm"}));
    assert_eq!(status["key_known"], true);
    assert_eq!(status["state"], Json::Null);
    api.report(
        KEYED_BOX,
        r#"{"version":"V37","ek":[{k:407,v:"0"},{k:920,v:"10000000"}]}"#,
    )
    .await;
    let status = api.get("/api/v1/alarm").await.json();
    assert_eq!(status["state"], "armed_away");
    assert_eq!(status["remote_access"], false);
    let reply = api.post("/api/v1/alarm", r#"{"state":"disarm"}"#).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.error().contains("407"), "{}", reply.error());
    let reply = api.post("/api/v1/alarm", r#"{"state":"maybe"}"#).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_answer_is_an_api_event_with_its_route_pattern() {
    let api = api();
    api.seen("box1").await;
    api.post("/api/v1/lights/petite_chambre_3", r#"{"state":"on"}"#)
        .await;
    api.get("/nowhere").await;
    let seen: Vec<(String, u16)> = api
        .events
        .take()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Api { route, status } => Some((route.to_string(), status)),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("/api/v1/lights/{id}".to_string(), 200),
            ("unmatched".to_string(), 404)
        ]
    );
}

#[tokio::test]
async fn a_light_on_is_a_scene_with_590_and_its_mask() {
    let api = api();
    api.seen("box1").await;
    let reply = api
        .post("/api/v1/lights/petite_chambre_3", r#"{"state":"on"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["client"], "box1");
    let pending = api.pending("box1").await;
    assert_eq!(param(&pending, 0, 590), Some(1));
    assert_eq!(param(&pending, 0, 613), Some(64));
    assert_eq!(
        param(&pending, 0, 607),
        Some(0),
        "the off mask is written as 0"
    );

    let off = api
        .post(
            "/api/v1/lights/petite_chambre_3?client=box1",
            r#"{"state":"off"}"#,
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(
        off.json()["merged"],
        json!([false]),
        "on then off never merge"
    );
    assert_eq!(param(&api.pending("box1").await, 1, 607), Some(64));
}

#[tokio::test]
async fn shutters_and_the_awning_close_and_open() {
    let api = api();
    api.seen("box1").await;
    let reply = api
        .post("/api/v1/shutters/bureau", r#"{"state":"close"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(param(&api.pending("box1").await, 0, 620), Some(32));
    let awning = api
        .post("/api/v1/shutters/store_terrasse", r#"{"state":"open"}"#)
        .await;
    assert_eq!(awning.status, StatusCode::OK, "{}", awning.text);
    let pending = api.pending("box1").await;
    let last = pending.len() - 1;
    assert_eq!(param(&pending, last, 590), Some(1));
    assert!(
        param(&pending, last, 622).is_some_and(|bits| bits != 0),
        "deploy mask 622"
    );
}

#[tokio::test]
async fn device_orders_refuse_unknown_ids_and_states() {
    let api = api();
    api.seen("box1").await;
    let cases = [
        (
            "/api/v1/lights/garage",
            r#"{"state":"on"}"#,
            StatusCode::NOT_FOUND,
            "no light or dimmer with id \"garage\"",
        ),
        (
            "/api/v1/shutters/petite_chambre_3x",
            r#"{"state":"open"}"#,
            StatusCode::NOT_FOUND,
            "no shutter or awning",
        ),
        (
            "/api/v1/lights/petite_chambre_3",
            r#"{"state":"open"}"#,
            StatusCode::BAD_REQUEST,
            r#"{"state":"on"}"#,
        ),
        (
            "/api/v1/shutters/bureau",
            r#"{"state":"on"}"#,
            StatusCode::BAD_REQUEST,
            r#"{"state":"close"}"#,
        ),
        (
            "/api/v1/lights/petite_chambre_3",
            r#"{}"#,
            StatusCode::BAD_REQUEST,
            "no \"state\"",
        ),
        (
            "/api/v1/lights/petite_chambre_3",
            "",
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            "/api/v1/lights/petite_chambre_3",
            "{on",
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
    ];
    for (uri, body, status, needle) in cases {
        let reply = api.post(uri, body).await;
        assert_eq!(reply.status, status, "{uri} {body}: {}", reply.text);
        assert!(
            reply.error().contains(needle),
            "{uri} {body}: {}",
            reply.error()
        );
    }
    assert!(api.pending("box1").await.is_empty());
}

#[tokio::test]
async fn scenarios_2_to_8_launch_and_1_is_refused_by_core() {
    let api = api();
    api.seen("box1").await;
    let reply = api.post("/api/v1/scenarios/5/launch", "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(api.pending("box1").await, vec![vec![(590, 5)]]);
    for (n, needle) in [
        ("1", "scenario 1 cannot be launched"),
        ("9", "scenario 9"),
        ("x", "not a number"),
        ("300", "not a number"),
    ] {
        let reply = api.post(&format!("/api/v1/scenarios/{n}/launch"), "").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{n}");
        assert!(reply.error().contains(needle), "{n}: {}", reply.error());
    }
    assert_eq!(api.pending("box1").await.len(), 1);
}

// ---------------------------------------------------------------- token

#[tokio::test]
async fn the_admin_token_guards_admin_and_device_routes_only() {
    let api = api_on(Arc::new(MemoryStore::new()), Some(TOKEN));
    api.seen("box1").await;
    for (method, uri, body) in [
        (
            Method::POST,
            "/api/admin/inject",
            Some(r#"{"k":613,"v":"64"}"#),
        ),
        (Method::GET, "/api/admin/clients", None),
        (Method::GET, "/api/v1/devices", None),
        (Method::POST, "/api/v1/scenarios/5/launch", None),
    ] {
        let none = api.send(method.clone(), uri, body, None).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(
            none.error().contains("missing bearer token"),
            "{}",
            none.error()
        );
        let wrong = api.send(method.clone(), uri, body, Some("guess")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(wrong.error().contains("wrong bearer token"));
    }
    assert!(
        api.pending("box1").await.is_empty(),
        "refused requests queue nothing"
    );
    let ok = api
        .send(
            Method::POST,
            "/api/admin/inject",
            Some(r#"{"k":613,"v":"64"}"#),
            Some(TOKEN),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(
        api.send(Method::GET, "/api/v1/devices", None, Some(TOKEN))
            .await
            .status,
        StatusCode::OK
    );
    for open in ["/health", "/debug", "/table_ref"] {
        assert_eq!(api.get(open).await.status, StatusCode::OK, "{open}");
    }
}

// ---------------------------------------------------------------- operators

#[tokio::test]
async fn health_reports_boxes_and_store() {
    let api = api();
    api.seen("box1").await;
    let reply = api.get("/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["boxes"], 1);
    assert_eq!(body["store"], "memory");
    assert!(body["uptime_s"].is_u64());
}

#[tokio::test]
async fn debug_merges_the_server_counters() {
    let api = api();
    api.seen("box1").await;
    let body = api.get("/debug").await.json();
    assert_eq!(body["server"], json!({"connections": 7}));
    assert_eq!(body["boxes"], json!(["box1"]));
    assert_eq!(body["store"], "memory");
}

#[tokio::test]
async fn with_a_token_debug_hides_the_box_ids_from_callers_without_it() {
    let api = api_on(Arc::new(MemoryStore::new()), Some(TOKEN));
    api.seen("box1").await;
    let hidden = api.get("/debug").await.json();
    assert_eq!(hidden["boxes"], Json::Null, "{hidden}");
    assert_eq!(hidden["box_count"], 1);
    let shown = api
        .send(Method::GET, "/debug", None, Some(TOKEN))
        .await
        .json();
    assert_eq!(shown["boxes"], json!(["box1"]));
}

#[tokio::test]
async fn without_a_token_the_api_answers_only_the_local_network() {
    use axum::extract::ConnectInfo;
    let api = api();
    api.seen("box1").await;
    let from = |peer: &str| {
        let mut request = Request::builder()
            .uri("/api/v1/devices")
            .body(Body::empty())
            .expect("request");
        let peer: std::net::SocketAddr = peer.parse().expect("peer");
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    };
    for (peer, status) in [
        ("192.168.1.20:5000", StatusCode::OK),
        ("127.0.0.1:5000", StatusCode::OK),
        ("[fd12::7]:5000", StatusCode::OK),
        ("203.0.113.9:5000", StatusCode::FORBIDDEN),
        ("[2001:db8::1]:5000", StatusCode::FORBIDDEN),
    ] {
        let reply = api.router.clone().oneshot(from(peer)).await.expect("reply");
        assert_eq!(reply.status(), status, "{peer}");
        if status == StatusCode::FORBIDDEN {
            let body = reply.into_body().collect().await.expect("body").to_bytes();
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("--admin-token"), "{text}");
        }
    }
    // the open pages stay open
    let mut health = from("203.0.113.9:5000");
    *health.uri_mut() = "/health".parse().expect("uri");
    let reply = api.router.clone().oneshot(health).await.expect("reply");
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn table_ref_shows_names_values_and_pending_actions_escaped() {
    let api = api();
    let empty = api.get("/table_ref").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.content_type, "text/html; charset=utf-8");
    assert!(
        empty.text.contains("No box has connected yet"),
        "{}",
        empty.text
    );

    api.report(
        "box1",
        r#"{"version":"V<b>&37","ek":[{k:349,v:"17"},{k:11,v:"10000000"}]}"#,
    )
    .await;
    api.post("/api/admin/inject", r#"{"k":590,"v":"5"}"#).await;
    let page = api.get("/table_ref").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.text;
    assert!(html.contains("Chauf_zj_Mode"), "index 349's firmware name");
    assert!(html.contains("Alerte"), "index 11's firmware name");
    assert!(html.contains(r#"<td class="n">17</td>"#), "{html}");
    assert!(html.contains("<td>RW</td>") || html.contains("<td>RWS</td>"));
    assert!(
        html.contains("&lt;b&gt;&amp;37"),
        "the version is escaped: {html}"
    );
    assert!(!html.contains("<b>&37"));
    assert!(
        html.contains("00000000-0000-4000-8000-000000000001"),
        "pending action"
    );
    assert!(html.contains("590=5"));

    let other = api.get("/table_ref?client=box2").await;
    assert!(other.text.contains("No box with this id has connected yet"));
    assert!(!other.text.contains("Chauf_zj_Mode"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let api = api();
    let reply = api.get("/x").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json(), json!({"error":"no route for GET /x"}));
    let reply = api.get("/api/admin/inject").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply
        .error()
        .contains("GET is not allowed on /api/admin/inject"));
    let reply = api.post("/api/v1/lights", "{}").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.content_type.starts_with("application/json"));
}

// ---------------------------------------------------------------- store failures

/// A store that fails every call with the same error.
struct BrokenStore(PortError);

#[async_trait]
impl ExchangeStore for BrokenStore {
    async fn record_poll(&self, _: &ClientId, _: &Contact) -> Result<(), PortError> {
        Err(self.0.clone())
    }
    async fn apply_report(
        &self,
        _: &ClientId,
        _: &Contact,
        _: Option<&str>,
        _: &[Param],
    ) -> Result<Vec<Change>, PortError> {
        Err(self.0.clone())
    }
    async fn values(&self, _: &ClientId, _: &[Index]) -> Result<Vec<Option<Value>>, PortError> {
        Err(self.0.clone())
    }
    async fn table(&self, _: &ClientId) -> Result<Vec<Param>, PortError> {
        Err(self.0.clone())
    }
    async fn history(&self, _: &ClientId, _: Index) -> Result<Vec<Sample>, PortError> {
        Err(self.0.clone())
    }
    async fn clients(&self) -> Result<Vec<ClientInfo>, PortError> {
        Err(self.0.clone())
    }
    async fn record_devices(
        &self,
        _: &ClientId,
        _: &[DeviceUpdate],
        _: Timestamp,
    ) -> Result<(), PortError> {
        Err(self.0.clone())
    }
    async fn devices(
        &self,
        _: &ClientId,
    ) -> Result<Vec<(&'static Device, Acknowledged)>, PortError> {
        Err(self.0.clone())
    }
    async fn pin(
        &self,
        _: &ClientId,
        _: &essensys_core::matricule::Pin,
    ) -> Result<bool, PortError> {
        Err(self.0.clone())
    }
    async fn forget_pin(&self, _: &ClientId) -> Result<(), PortError> {
        Err(self.0.clone())
    }
    async fn forget_box(&self, _: &ClientId) -> Result<(), PortError> {
        Err(self.0.clone())
    }
}

#[tokio::test]
async fn an_unavailable_store_is_503_and_a_failed_one_500_without_its_cause() {
    let down = api_on(
        Arc::new(BrokenStore(PortError::Unavailable(
            "redis://10.0.0.5 refused".into(),
        ))),
        None,
    );
    let reply = down
        .post("/api/admin/inject", r#"{"k":613,"v":"64"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.error(),
        "state store unavailable, order not queued: retry later"
    );
    let health = down.get("/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["status"], "degraded");
    assert!(health.json()["error"].is_string());
    assert!(
        !health.text.contains("10.0.0.5"),
        "no internal detail: {}",
        health.text
    );
    assert_eq!(
        down.get("/api/admin/clients").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let broken = api_on(
        Arc::new(BrokenStore(PortError::Failed("WRONGTYPE at key x".into()))),
        None,
    );
    let reply = broken
        .post("/api/admin/inject", r#"{"k":613,"v":"64"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!reply.text.contains("WRONGTYPE"), "{}", reply.text);
    assert!(reply.error().contains("order not queued"));
}

/// A light of the catalog, by id.
fn lamp(id: &str) -> &'static Device {
    essensys_core::catalog::device(essensys_core::catalog::DeviceKind::Light, id).expect("lamp")
}

/// The entry of `list` whose `field` is `value`.
fn entry<'a>(list: &'a Json, field: &str, value: &str) -> &'a Json {
    list.as_array()
        .and_then(|items| items.iter().find(|i| i[field] == value))
        .unwrap_or_else(|| panic!("no {field} = {value} in {list}"))
}

#[tokio::test]
async fn the_state_shows_what_waits_for_each_device_and_mode_and_every_box() {
    let api = api();
    api.seen("A").await;
    api.seen("B").await;
    assert_eq!(lamp("petite_chambre_3").label, "Petite chambre 3");
    let on = api
        .post(
            "/api/v1/lights/petite_chambre_3?client=A",
            r#"{"state":"on"}"#,
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text);
    let eco = api
        .post("/api/v1/modes/heating_zj?client=A", r#"{"state":"Eco"}"#)
        .await;
    assert_eq!(eco.status, StatusCode::OK, "{}", eco.text);

    let reply = api.get("/api/v1/state?client=A").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let state = reply.json();
    assert_eq!(state["client"], "A");
    let bedroom = entry(&state["devices"], "label", "Petite chambre 3");
    assert_eq!(bedroom["pending"], "on");
    assert_eq!(bedroom["state"], Json::Null, "not acknowledged yet");
    assert_eq!(bedroom["state_source"], "unknown");
    assert_eq!(
        entry(&state["devices"], "id", "salon_1")["pending"],
        Json::Null
    );
    let zone = entry(&state["modes"], "key", "heating_zj");
    assert_eq!(zone["pending"], "Eco");
    assert_eq!(
        entry(&state["modes"], "key", "heating_zn")["pending"],
        Json::Null
    );
    assert_eq!(state["pending"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        state["pending"][0]["params"][0],
        json!({"k": 590, "v": "1"})
    );
    let a = entry(&state["boxes"], "id", "A");
    assert_eq!(
        (a["online"].clone(), a["pending"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(entry(&state["boxes"], "id", "B")["pending"], 0);
    // Without `client`, several boxes seen: the most recently seen one, named.
    let any = api.get("/api/v1/state").await;
    assert_eq!(any.status, StatusCode::OK, "{}", any.text);
    let any = any.json();
    assert!(any["client"] == "A" || any["client"] == "B", "{any}");
    assert_eq!(any["boxes"].as_array().map(Vec::len), Some(2));
    let stranger = api.get("/api/v1/state?client=C").await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    assert!(stranger.error().contains("no box C"), "{}", stranger.text);
    assert!(state["alarm"].is_object() && state["reported"].is_object());

    // The box takes the orders and acknowledges the scene: the lamp's state is known.
    let mut out = Vec::new();
    api.gateway
        .poll_actions(&id("A"), 1400, &mut out)
        .await
        .expect("poll");
    let scene = api.gateway.pending(&id("A")).await.expect("pending")[0]
        .action
        .guid
        .clone();
    api.gateway
        .ack(&id("A"), scene.as_str())
        .await
        .expect("ack");
    let state = api.get("/api/v1/state?client=A").await.json();
    let bedroom = entry(&state["devices"], "label", "Petite chambre 3");
    assert_eq!(
        (bedroom["state"].clone(), bedroom["pending"].clone()),
        (json!("on"), Json::Null)
    );
    assert_eq!(
        entry(&state["modes"], "key", "heating_zj")["pending"],
        "Eco"
    );
}

#[tokio::test]
async fn the_state_before_any_box_is_every_device_unknown() {
    let state = api().get("/api/v1/state").await.json();
    assert_eq!(state["client"], Json::Null);
    assert_eq!(state["boxes"], json!([]));
    assert_eq!(state["pending"], json!([]));
    assert_eq!(
        entry(&state["devices"], "id", "petite_chambre_3")["state_source"],
        "unknown"
    );
}

#[tokio::test]
async fn the_gateway_route_says_what_runs_and_nothing_secret() {
    let api = api_on(Arc::new(MemoryStore::new()), Some(TOKEN));
    let refused = api.get("/api/v1/gateway").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let about = api
        .send(Method::GET, "/api/v1/gateway", None, Some(TOKEN))
        .await;
    assert_eq!(about.status, StatusCode::OK, "{}", about.text);
    let about = about.json();
    assert_eq!(about["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(about["store"], "memory");
    assert_eq!(about["admin_token"], true);
    assert_eq!(about["mqtt"], json!({"enabled": false, "broker": null}));
    assert_eq!(about["mcp"], json!({"enabled": false}));
    assert!(!about.to_string().contains(TOKEN));
}

/// Reads `body` until `wanted` is in it (or 5 s pass), then gives what was read.
async fn read_until(body: Body, wanted: &str) -> String {
    let mut body = body;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !text.contains(wanted) {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    text.push_str(&String::from_utf8_lossy(data));
                }
            }
            _ => break,
        }
    }
    text
}

#[tokio::test]
async fn events_stream_kept_then_live_notices_as_server_sent_events() {
    use essensys_http_api::live::Live;
    let (live, sink, task) = Live::new(std::time::Duration::from_secs(60));
    let recorded = Arc::new(RecordedEvents::default());
    let events = essensys_core::event::FanOut::new()
        .with(recorded)
        .with(Arc::new(sink));
    let mut ports = ports(
        Arc::new(MemoryStore::new()),
        Arc::new(RecordedEvents::default()),
    );
    ports.events = Arc::new(events);
    let gateway = Arc::new(Gateway::new(ports, GatewayConfig::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(task.run(stopped));
    let api = Api {
        gateway: gateway.clone(),
        router: router(ApiState {
            live: live.clone(),
            ..ApiState::new(gateway, "memory")
        }),
        events: Arc::new(RecordedEvents::default()),
    };
    api.seen("A").await;
    let queued = api
        .post("/api/v1/lights/petite_chambre_3", r#"{"state":"on"}"#)
        .await;
    assert_eq!(queued.status, StatusCode::OK, "{}", queued.text);
    let guid = queued.json()["guid"].as_str().expect("guid").to_string();

    let response = api.events("/api/v1/events?client=A", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let text = read_until(response.into_body(), r#""type":"queued""#).await;
    assert!(text.contains("event: notice\n"), "{text}");
    assert!(
        text.contains(r#""type":"box_online""#),
        "kept notices first: {text}"
    );
    let queued_line = text
        .lines()
        .find(|l| l.contains(r#""type":"queued""#))
        .expect("queued notice");
    let notice: Json =
        serde_json::from_str(queued_line.trim_start_matches("data: ")).expect("JSON");
    assert_eq!(notice["guid"], guid.as_str());
    assert_eq!(notice["devices"][0]["label"], "Petite chambre 3");

    // After the last id it saw, a stream gets only what followed, live.
    let last: u64 = notice["id"].as_u64().expect("id");
    let response = api.events("/api/v1/events", Some(last)).await;
    let reading = tokio::spawn(read_until(response.into_body(), r#""type":"refused""#));
    let refused = api
        .post("/api/v1/lights/nowhere", r#"{"state":"on"}"#)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::NOT_FOUND,
        "a 404 queues nothing and says nothing"
    );
    let bad = api.post("/api/admin/inject", r#"{"k":9999,"v":"1"}"#).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let text = reading.await.expect("reader");
    assert!(text.contains(r#""type":"refused""#), "{text}");
    assert!(
        !text.contains(r#""type":"queued""#),
        "nothing before the last id: {text}"
    );

    stop.send(()).expect("stop");
    running.await.expect("task");
}

/// A built dashboard in a fresh folder: `index.html` and one hashed asset.
fn built_dashboard() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "essensys-dashboard-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(dir.join("assets")).expect("dir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Essensys — Maison</title>",
    )
    .expect("index");
    std::fs::write(dir.join("assets/app-1234.js"), "console.log(1)").expect("asset");
    dir
}

#[tokio::test]
async fn the_dashboard_is_served_at_the_root_and_the_api_stays_json() {
    let dir = built_dashboard();
    let gateway = api().gateway;
    let served = Api {
        router: router(ApiState {
            dashboard: Some(dir.clone()),
            ..ApiState::new(gateway.clone(), "memory")
        }),
        gateway,
        events: Arc::new(RecordedEvents::default()),
    };
    let page = served.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.text.contains("Essensys — Maison"));
    let asset = served.get("/assets/app-1234.js").await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.text, "console.log(1)");
    for missing in ["/assets/nope.js", "/../Cargo.toml", "/api/v1/nope"] {
        let reply = served.get(missing).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
        assert!(
            reply.error().contains("no route"),
            "{missing}: {}",
            reply.text
        );
    }
    let post = served.post("/", "{}").await;
    assert_eq!(post.status, StatusCode::NOT_FOUND, "files are only read");
    assert!(post.content_type.starts_with("application/json"));
    std::fs::remove_dir_all(dir).expect("clean");

    // Not built: the root says how to build it, the API is untouched.
    let bare = api();
    let page = bare.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("n'est pas construit"), "{}", page.text);
    assert_eq!(bare.get("/health").await.status, StatusCode::OK);
    assert_eq!(
        bare.get("/assets/app.js").await.status,
        StatusCode::NOT_FOUND
    );
}
