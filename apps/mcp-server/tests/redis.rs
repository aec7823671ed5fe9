//! `essensys-mcp` as its own service, as deployed: a private redis-server, a backend on it serving
//! bp-sim, and the essensys-mcp binary on the same Redis, driven by the official Python MCP
//! client over both transports. Orders it gives reach the box through the backend.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use clap::Parser;
use essensys_backend::{serve, Cli, Settings};
use essensys_bp_sim::{house::DeviceState, BoxSim, SimConfig};
use essensys_core::{catalog::DeviceKind, Index, Value};
use essensys_testkit::{
    free_port,
    mcp::{self, call, list_tools, Transport},
    wait_for_port, RedisServer,
};
use serde_json::{json, Value as Json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const TOKEN: &str = "mcp-service-token";

/// The essensys-mcp binary, killed when dropped.
struct McpService(Child, SocketAddr);

impl Drop for McpService {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_mcp(redis: &RedisServer) -> McpService {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_essensys-mcp"))
        .args(["--listen", &listen, "--store", &redis.url()])
        .env("ESSENSYS_MCP_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("essensys-mcp starts");
    let service = McpService(child, listen.parse().expect("addr"));
    assert!(
        wait_for_port(port, Duration::from_secs(15)),
        "essensys-mcp did not listen"
    );
    service
}

/// A backend on `redis`, in this process.
async fn backend(redis: &RedisServer) -> SocketAddr {
    let url = redis.url();
    let args = [
        "essensys-backend",
        "--listen",
        "127.0.0.1:0",
        "--store",
        &url,
    ];
    let settings = Settings::resolve(Cli::parse_from(args)).expect("settings");
    let listener = TcpListener::bind(settings.listen).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        serve(settings, listener, std::future::pending::<()>())
            .await
            .expect("backend serves");
    });
    addr
}

async fn cycle(sim: &mut BoxSim) {
    sim.cycle()
        .await
        .unwrap_or_else(|e| panic!("cycle failed as the firmware would see it: {e}"));
}

async fn tool(transport: Transport, addr: SocketAddr, name: &str, args: Json) -> (bool, Json) {
    let base = format!("http://{addr}");
    let steps = vec![call(name, args)];
    let results =
        tokio::task::spawn_blocking(move || mcp::results(transport, &base, TOKEN, &steps))
            .await
            .expect("client thread");
    let text = results[0]["text"].as_str().unwrap_or_default();
    let body = serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.into()));
    (results[0]["is_error"] == true, body)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    let text = String::from_utf8_lossy(&reply).into_owned();
    (
        text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0),
        text,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mcp_service_reads_and_orders_through_the_shared_redis() {
    let redis = RedisServer::start();
    let addr = backend(&redis).await;
    let mcp = run_mcp(&redis);
    let mut sim = BoxSim::new(SimConfig {
        step_gap: Duration::ZERO,
        ..SimConfig::new(addr)
    });
    sim.set_cell(Index::new(349).expect("349"), Value(17));
    cycle(&mut sim).await;
    cycle(&mut sim).await;

    let (status, health) = get(mcp.1, "/health").await;
    assert_eq!(status, 200, "{health}");
    let (status, metrics) = get(mcp.1, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    assert!(metrics.contains("essensys_store_up 1\n"), "{metrics}");
    assert!(
        metrics.contains("essensys_box_connected{client=\"default\"} 1\n"),
        "the box the backend serves, read from Redis: {metrics}"
    );
    let (status, refused) = get(mcp.1, "/sse").await;
    assert_eq!(status, 401, "no token: {refused}");
    assert!(refused.contains(r#"{"error":"#), "{refused}");
    for transport in Transport::BOTH {
        let base = format!("http://{}", mcp.1);
        let answer = tokio::task::spawn_blocking(move || {
            mcp::session(transport, &base, Some("wrong"), &[list_tools()])
        })
        .await
        .expect("client thread");
        assert_eq!(answer["ok"], false, "{transport:?}: {answer}");
    }

    for transport in Transport::BOTH {
        let (error, cell) = tool(
            transport,
            mcp.1,
            "read_exchange_value",
            json!({"index": 349}),
        )
        .await;
        assert!(!error, "{cell}");
        assert_eq!(
            cell["value"], 17,
            "what the box reported to the backend: {cell}"
        );

        let (error, queued) = tool(
            transport,
            mcp.1,
            "send_order",
            json!({"params": [{"k": 613, "v": 64}]}),
        )
        .await;
        assert!(!error, "{queued}");
        cycle(&mut sim).await;
        assert_eq!(
            sim.house().state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::On),
            "{transport:?}: the order went through Redis and the backend to the box"
        );
        let (error, queued) = tool(
            transport,
            mcp.1,
            "send_order",
            json!({"params": [{"k": 607, "v": 64}]}),
        )
        .await;
        assert!(!error, "{queued}");
        cycle(&mut sim).await;
        assert_eq!(
            sim.house().state(DeviceKind::Light, "petite_chambre_3"),
            Some(DeviceState::Off)
        );

        let (error, why) = tool(
            transport,
            mcp.1,
            "set_exchange_value",
            json!({"index": 953, "value": 1}),
        )
        .await;
        assert!(error, "{why}");
        let (error, metrics) = tool(transport, mcp.1, "get_system_metrics", json!({})).await;
        assert!(!error, "{metrics}");
        assert_eq!(metrics["gateway"]["store"]["kind"], "redis");
        assert_eq!(metrics["gateway"]["store"]["up"], true, "{metrics}");
        assert_eq!(
            metrics["gateway"]["boxes"][0]["pending_actions"], 0,
            "all acked: {metrics}"
        );
    }
    let (_, metrics) = get(mcp.1, "/metrics").await;
    assert!(
        metrics.contains("essensys_actions_total{event=\"queued\"} 4\n"),
        "two orders per transport, queued by this service: {metrics}"
    );
    assert!(
        metrics.contains("essensys_actions_total{event=\"refused\"} 2\n"),
        "{metrics}"
    );
    let pending = redis.cli(&["LLEN", "essensys:client:default:actions"]);
    assert_eq!(pending.trim(), "0", "nothing left queued");
}

#[test]
fn without_a_token_or_a_redis_store_it_says_what_to_give() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_essensys-mcp"))
            .args(args)
            .env_remove("ESSENSYS_MCP_TOKEN")
            .env_remove("ESSENSYS_STORE")
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--store", "redis://127.0.0.1:1/0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--mcp-token"), "{stderr}");
    let (code, stderr) = run(&["--store", "memory", "--mcp-token", "t"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("redis://"), "{stderr}");
}
