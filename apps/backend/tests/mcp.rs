//! Agents over MCP, end to end: the whole backend with `--mcp-token`, bp-sim as the box, and the
//! official Python MCP client (mcp==2.3.0) over Streamable HTTP (`/mcp`) and legacy SSE (`/sse`).

use std::{collections::BTreeSet, net::SocketAddr, path::Path, time::Duration};

use essensys_bp_sim::{house::DeviceState, BoxSim, SimConfig};
use essensys_core::{catalog::DeviceKind, Index, Value};
use essensys_testkit::mcp::{self, call, list_tools, Transport};
use serde_json::{json, Value as Json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

mod common;
use common::{api, start};

const TOKEN: &str = "agent-s3cret";

const TOOLS: [&str; 10] = [
    "find_device_index",
    "get_system_metrics",
    "list_service_status",
    "read_exchange_table",
    "read_exchange_value",
    "read_service_logs",
    "restart_service",
    "run_self_diagnostic",
    "send_order",
    "set_exchange_value",
];

/// The backend with MCP on, and a box that has reported 349 = 17 (Confort) and 353 = 1.
async fn house() -> (SocketAddr, BoxSim) {
    let addr = start(&["--mcp-token", TOKEN]).await;
    let mut sim = BoxSim::new(SimConfig {
        step_gap: Duration::ZERO,
        ..SimConfig::new(addr)
    });
    sim.set_cell(Index::new(349).expect("349"), Value(17));
    sim.set_cell(Index::new(353).expect("353"), Value(1));
    // the watched cells are asked 30 per cycle: two cycles cover the default list
    cycle(&mut sim).await;
    cycle(&mut sim).await;
    (addr, sim)
}

async fn cycle(sim: &mut BoxSim) {
    sim.cycle()
        .await
        .unwrap_or_else(|e| panic!("cycle failed as the firmware would see it: {e}"));
}

fn base(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// One MCP session with the Python client, off the async runtime.
async fn session(transport: Transport, addr: SocketAddr, steps: Vec<Json>) -> Vec<Json> {
    let base = base(addr);
    tokio::task::spawn_blocking(move || mcp::results(transport, &base, TOKEN, &steps))
        .await
        .expect("client thread")
}

/// One tool call's `(is_error, parsed JSON or text)`.
async fn tool(transport: Transport, addr: SocketAddr, name: &str, args: Json) -> (bool, Json) {
    let results = session(transport, addr, vec![call(name, args)]).await;
    parse(&results[0])
}

fn parse(result: &Json) -> (bool, Json) {
    let text = result["text"].as_str().unwrap_or_default();
    let body = serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.into()));
    (result["is_error"] == true, body)
}

/// A raw HTTP request; returns the status and the whole reply text.
async fn raw(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

fn request(method: &str, path: &str, host: &str, auth: Option<&str>) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_a_missing_or_wrong_token_and_a_foreign_host() {
    let addr = start(&["--mcp-token", TOKEN]).await;
    let host = addr.to_string();
    for (method, path) in [
        ("POST", "/mcp"),
        ("GET", "/sse"),
        ("POST", "/messages?sessionId=x"),
    ] {
        for auth in [None, Some("Bearer wrong"), Some("Basic YWdlbnQ6cw==")] {
            let (status, reply) = raw(addr, &request(method, path, &host, auth)).await;
            assert_eq!(status, 401, "{method} {path} with {auth:?}: {reply}");
            assert!(reply.contains(r#"{"error":"#), "JSON error: {reply}");
            assert!(
                reply
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer"),
                "{reply}"
            );
        }
        let bearer = format!("Bearer {TOKEN}");
        let (status, reply) = raw(
            addr,
            &request(method, path, "evil.example:80", Some(&bearer)),
        )
        .await;
        assert_eq!(status, 403, "{method} {path} from a foreign Host: {reply}");
    }
    // the official client is refused too, over both transports, and let in with the token
    for transport in Transport::BOTH {
        for token in [None, Some("wrong"), Some(TOKEN)] {
            let base = base(addr);
            let answer = tokio::task::spawn_blocking(move || {
                mcp::session(transport, &base, token, &[list_tools()])
            })
            .await
            .expect("client thread");
            assert_eq!(
                answer["ok"],
                token == Some(TOKEN),
                "{transport:?} {token:?}: {answer}"
            );
            if transport == Transport::Sse && token != Some(TOKEN) {
                // (the Streamable HTTP client reports any refusal as "error response")
                let error = answer["error"].as_str().unwrap_or_default();
                assert!(error.contains("401"), "{token:?}: {answer}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_mcp_is_off() {
    let addr = start(&[]).await;
    let (status, body) = api(addr, "POST", "/mcp", "{}").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api(addr, "GET", "/sse", "").await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_transports_list_the_ten_tools_with_object_schemas() {
    let (addr, _sim) = house().await;
    for transport in Transport::BOTH {
        let results = session(transport, addr, vec![list_tools()]).await;
        let tools = results[0].as_array().expect("tools");
        let names: BTreeSet<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names, BTreeSet::from(TOOLS), "{transport:?}");
        for tool in tools {
            assert_eq!(tool["input_schema"]["type"], "object", "{tool}");
            let description = tool["description"].as_str().unwrap_or_default();
            assert!(description.len() > 40, "an agent needs to know: {tool}");
        }
        let schema = |name: &str| {
            tools
                .iter()
                .find(|t| t["name"] == name)
                .map(|t| t["input_schema"].clone())
                .unwrap_or_default()
        };
        let order = schema("send_order");
        assert_eq!(order["properties"]["params"]["type"], "array", "{order}");
        assert_eq!(order["required"], json!(["params"]), "{order}");
        let set = schema("set_exchange_value");
        assert_eq!(set["properties"]["index"]["type"], "integer", "{set}");
        assert_eq!(set["properties"]["value"]["type"], "integer", "{set}");
        let find = schema("find_device_index");
        assert_eq!(find["required"], json!(["device_name"]), "{find}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_show_what_the_box_reported() {
    let (addr, _sim) = house().await;
    for transport in Transport::BOTH {
        let (error, cell) = tool(
            transport,
            addr,
            "read_exchange_value",
            json!({"index": 349}),
        )
        .await;
        assert!(!error, "{cell}");
        assert_eq!(cell["client_id"], "default");
        assert_eq!(cell["name"], "Chauf_zj_Mode");
        assert_eq!(cell["value"], 17);
        assert_eq!(cell["label"], "Confort");
        assert_eq!(cell["reported"], true);
        assert!(
            cell["since"].as_str().is_some_and(|s| s.ends_with('Z')),
            "{cell}"
        );

        let (error, never) = tool(
            transport,
            addr,
            "read_exchange_value",
            json!({"index": 700}),
        )
        .await;
        assert!(!error, "{never}");
        assert_eq!(never["reported"], false, "{never}");
        assert!(never["note"]
            .as_str()
            .unwrap_or_default()
            .contains("not reported"));

        let (error, why) = tool(
            transport,
            addr,
            "read_exchange_value",
            json!({"index": 953}),
        )
        .await;
        assert!(error, "953 is outside the table: {why}");
        assert!(
            why.as_str().unwrap_or_default().contains("0..=952"),
            "{why}"
        );

        let (error, table) = tool(transport, addr, "read_exchange_table", json!({})).await;
        assert!(!error, "{table}");
        let cells = table["cells"].as_array().expect("cells");
        assert_eq!(table["count"], cells.len());
        let heater = cells
            .iter()
            .find(|c| c["index"] == 353)
            .expect("353 reported");
        assert_eq!(heater["name"], "Cumulus_Mode");
        assert_eq!(heater["label"], "Heures creuses");
        assert!(cells.iter().any(|c| c["index"] == 349 && c["value"] == 17));
        assert!(table["box_last_seen"].as_str().is_some(), "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_reach_the_house_and_the_table_changes_only_when_the_box_reports() {
    for transport in Transport::BOTH {
        let (addr, mut sim) = house().await;
        let (error, queued) = tool(
            transport,
            addr,
            "send_order",
            json!({"params": [{"k": 613, "v": "64"}]}),
        )
        .await;
        assert!(!error, "{queued}");
        assert_eq!(queued["queued"], true);
        let guid = queued["actions"][0]["guid"]
            .as_str()
            .expect("guid")
            .to_string();
        let (_, pending) = api(addr, "GET", "/api/admin/actions", "").await;
        assert!(pending.contains(&guid), "{pending}");
        assert!(
            pending.contains(r#"{"k":590,"v":"1"}"#) && pending.contains(r#"{"k":605,"v":"0"}"#),
            "expanded to the whole scene block: {pending}"
        );
        cycle(&mut sim).await;
        assert_eq!(
            sim.house().state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::On)
        );

        let (error, queued) = tool(
            transport,
            addr,
            "set_exchange_value",
            json!({"index": 349, "value": 18}),
        )
        .await;
        assert!(!error, "{queued}");
        assert!(queued["note"]
            .as_str()
            .unwrap_or_default()
            .contains("reports"));
        let (_, before) = tool(
            transport,
            addr,
            "read_exchange_value",
            json!({"index": 349}),
        )
        .await;
        assert_eq!(
            before["value"], 17,
            "not before the box reports it: {before}"
        );
        cycle(&mut sim).await;
        assert_eq!(sim.table().get(Index::new(349).expect("349")), Value(18));
        // the box reports the new value in a later cycle
        cycle(&mut sim).await;
        cycle(&mut sim).await;
        let (_, after) = tool(
            transport,
            addr,
            "read_exchange_value",
            json!({"index": 349}),
        )
        .await;
        assert_eq!(after["value"], 18, "{after}");
        assert_eq!(after["label"], "Eco");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_orders_are_tool_errors_and_queue_nothing() {
    let (addr, _sim) = house().await;
    for transport in Transport::BOTH {
        let refusals = [
            (
                "send_order",
                json!({"params": [{"k": 953, "v": "1"}]}),
                "953",
            ),
            (
                "set_exchange_value",
                json!({"index": 349, "value": 256}),
                "256",
            ),
            (
                "set_exchange_value",
                json!({"index": 0, "value": 1}),
                "not writable",
            ),
            (
                "send_order",
                json!({"params": [{"k": 613, "v": "64"}, {"k": 953, "v": "1"}]}),
                "953",
            ),
            ("send_order", json!({"params": []}), "empty"),
            (
                "send_order",
                json!({"params": [{"k": 613, "v": "64"}], "client_id": "a/b"}),
                "a/b",
            ),
        ];
        for (name, args, says) in refusals {
            let (error, why) = tool(transport, addr, name, args.clone()).await;
            assert!(error, "{name} {args} is refused: {why}");
            let why = why.as_str().unwrap_or_default();
            assert!(why.contains(says), "{name} {args}: {why}");
        }
        let (_, pending) = api(addr, "GET", "/api/admin/actions", "").await;
        assert!(
            pending.contains(r#""actions":[]"#),
            "nothing queued: {pending}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_device_index_gives_the_exact_order_to_send() {
    let (addr, mut sim) = house().await;
    let (error, found) = tool(
        Transport::Sse,
        addr,
        "find_device_index",
        json!({"device_name": "Petite Chambre 3", "action": "éteindre"}),
    )
    .await;
    assert!(!error, "{found}");
    let first = &found["matches"][0];
    assert_eq!(first["id"], "petite_chambre_3", "{found}");
    assert_eq!(
        first["orders"],
        json!([{"action": "éteindre (off)", "params": [{"k": 607, "v": "64"}]}])
    );
    // what it found is what send_order takes
    let (_, on) = tool(
        Transport::Http,
        addr,
        "find_device_index",
        json!({"device_name": "bedroom 3", "category": "light", "action": "on"}),
    )
    .await;
    let order = on["matches"][0]["orders"][0]["params"].clone();
    assert_eq!(order, json!([{"k": 613, "v": "64"}]));
    let (error, _) = tool(
        Transport::Http,
        addr,
        "send_order",
        json!({"params": order}),
    )
    .await;
    assert!(!error);
    cycle(&mut sim).await;
    assert_eq!(
        sim.house().state(DeviceKind::Light, "petite_chambre_3"),
        Some(DeviceState::On)
    );
    let (error, why) = tool(
        Transport::Http,
        addr,
        "find_device_index",
        json!({"device_name": "salon", "category": "garage"}),
    )
    .await;
    assert!(
        error && why.as_str().unwrap_or_default().contains("shutter"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_diagnostic_tell_the_truth_about_this_gateway() {
    let (addr, _sim) = house().await;
    let (error, metrics) = tool(Transport::Http, addr, "get_system_metrics", json!({})).await;
    assert!(!error, "{metrics}");
    let gateway = &metrics["gateway"];
    assert_eq!(gateway["boxes"][0]["client_id"], "default", "{metrics}");
    assert_eq!(gateway["boxes"][0]["pending_actions"], 0);
    assert_eq!(gateway["store"]["kind"], "memory");
    assert_eq!(gateway["store"]["reachable"], true);
    assert!(
        gateway["counters"]["serverinfos"].as_u64() >= Some(2),
        "{metrics}"
    );
    assert_eq!(
        gateway["mqtt_connected"],
        Json::Null,
        "no broker configured"
    );
    // Linux always has these; the temperature only on boards with a thermal zone
    assert_eq!(metrics["host"]["load"].as_array().map(Vec::len), Some(3));
    assert!(metrics["host"]["memory"]["total_bytes"].as_u64() > Some(0));
    assert!(metrics["host"]["uptime_s"].as_u64().is_some());
    let has_thermal = Path::new("/sys/class/thermal/thermal_zone0/temp").exists();
    assert_eq!(!metrics["host"]["cpu_temperature_c"].is_null(), has_thermal);

    let (error, report) = tool(
        Transport::Sse,
        addr,
        "run_self_diagnostic",
        json!({"auto_repair": true}),
    )
    .await;
    assert!(!error, "{report}");
    let status: Vec<(String, String)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().into(),
                c["status"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    let expected = [
        ("store", "pass"),
        ("box_polling", "pass"),
        ("queues", "pass"),
        ("clock", "pass"),
        ("mqtt", "skipped"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(status, expected, "{report}");
    assert_eq!(report["healthy"], true);
    assert_eq!(
        report["repairs"],
        json!([]),
        "nothing failed, nothing repaired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_tools_say_what_this_host_can_do_and_refuse_foreign_names() {
    let addr = start(&[
        "--mcp-token",
        TOKEN,
        "--docker-socket",
        "/nonexistent/docker.sock",
    ])
    .await;
    let systemd = Path::new("/run/systemd/system").exists();
    let (error, listed) = tool(Transport::Http, addr, "list_service_status", json!({})).await;
    if systemd {
        assert!(!error, "systemd runs here: {listed}");
        assert_eq!(listed["manager"], "systemd");
    } else {
        assert!(error, "{listed}");
        assert!(
            listed
                .as_str()
                .unwrap_or_default()
                .contains("not available on this host"),
            "{listed}"
        );
    }
    for (name, args) in [
        ("restart_service", json!({"name": "sshd"})),
        (
            "read_service_logs",
            json!({"name": "../etc/passwd", "lines": 5}),
        ),
    ] {
        let (error, why) = tool(Transport::Sse, addr, name, args).await;
        assert!(error, "{name}: {why}");
        assert!(
            why.as_str().unwrap_or_default().contains("allow"),
            "{name}: {why}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_session_ends_when_its_client_goes() {
    let (addr, _sim) = house().await;
    session(Transport::Sse, addr, vec![list_tools()]).await;
    session(Transport::Sse, addr, vec![list_tools()]).await;
    // the two clients have gone: a third session sees only itself (the server notices a closed
    // stream at once, but give the network a few tries)
    let mut open = Json::Null;
    for _ in 0..20 {
        let (_, metrics) = tool(Transport::Sse, addr, "get_system_metrics", json!({})).await;
        open = metrics["gateway"]["mcp_sse_sessions"].clone();
        if open == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("SSE sessions left open: {open}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sse_endpoint_is_relative_and_posts_are_checked() {
    let addr = start(&["--mcp-token", TOKEN]).await;
    let host = addr.to_string();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let open = format!(
        "GET /sse HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\nX-Forwarded-Prefix: /mcp\r\n\r\n"
    );
    stream.write_all(open.as_bytes()).await.expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("sessionId=") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("endpoint event in time")
            .expect("read");
        assert!(n > 0, "stream closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        text.contains("content-type: text/event-stream")
            || text.contains("Content-Type: text/event-stream"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("data: "))
        .expect("data line");
    let endpoint = line.trim_start_matches("data: ").trim();
    assert!(endpoint.starts_with("/mcp/messages?sessionId="), "{text}");
    let id = endpoint.rsplit('=').next().expect("id");
    assert!(text.contains("event: endpoint"), "{text}");

    let bearer = format!("Bearer {TOKEN}");
    let post = |path: String, body: &'static str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let (status, reply) = raw(
        addr,
        &post(format!("/messages?sessionId={id}"), "{not json"),
    )
    .await;
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = raw(
        addr,
        &post(
            "/messages?sessionId=nope".into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        ),
    )
    .await;
    assert_eq!(status, 404, "{reply}");
    let (status, reply) = raw(addr, &post(format!("/messages?sessionId={id}"), r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#)).await;
    assert_eq!(status, 202, "{reply}");
    // the answer comes on the stream, as an `event: message`
    while !String::from_utf8_lossy(&seen).contains("event: message") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("message event in time")
            .expect("read");
        assert!(n > 0, "stream closed");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        String::from_utf8_lossy(&seen).contains("essensys-mcp"),
        "server info in the answer"
    );
}
