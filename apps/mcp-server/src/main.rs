//! `essensys-mcp`: the MCP tools for agents as their own service, over the Redis state that a
//! backend shares. Orders are queued in Redis and reach the box through that backend. No domain
//! logic lives here: configuration, composition, logging and shutdown only.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::{bail, Context};
use axum::{routing::get, Json, Router};
use clap::Parser;
use essensys_backend::{
    config::LogFormat,
    process::{init_logging, shutdown_signal},
};
use essensys_core::{
    gateway::{GatewayConfig, Ports},
    Gateway,
};
use essensys_mcp::{McpSettings, Probe, StoreHealth, Vitals};
use essensys_prometheus::{Recorder, Sources};
use essensys_redis::{Health, RedisOptions, RedisState};
use essensys_system::{RandomGuids, SystemClock};
use tokio::net::TcpListener;
use tracing::info;

/// essensys-mcp: the gateway's MCP tools for agents (OpenClaw, Claude, any MCP client), as a
/// service of its own beside a backend.
///
/// Serves /mcp (Streamable HTTP) and /sse + /messages (legacy HTTP+SSE), each request needing
/// `Authorization: Bearer TOKEN`, and /health and /metrics (no token). Reads the state the backend keeps in
/// Redis; orders are queued there and reach the box through the backend.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// Address to listen on
    #[arg(
        long,
        env = "ESSENSYS_MCP_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8083"
    )]
    listen: SocketAddr,

    /// The Redis store the backend uses, `redis://HOST:PORT/DB`
    #[arg(long, env = "ESSENSYS_STORE", value_name = "URL")]
    store: String,

    /// The bearer token agents must send
    #[arg(
        long,
        env = "ESSENSYS_MCP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    mcp_token: Option<String>,

    /// A file holding the token (first line), so that it appears in no process list
    #[arg(long, env = "ESSENSYS_MCP_TOKEN_FILE", value_name = "FILE")]
    mcp_token_file: Option<PathBuf>,

    /// `Host` values requests may carry, comma-separated (`name` or `name:port`), e.g. the names
    /// nginx or compose use [default: localhost, 127.0.0.1, ::1 and this host's name]
    #[arg(
        long,
        env = "ESSENSYS_MCP_ALLOWED_HOSTS",
        value_name = "HOSTS",
        value_delimiter = ','
    )]
    mcp_allowed_hosts: Vec<String>,

    /// The Docker Engine socket the service tools use (systemd is used when it is absent)
    /// [default: /var/run/docker.sock]
    #[arg(long, env = "ESSENSYS_DOCKER_SOCKET", value_name = "PATH")]
    docker_socket: Option<PathBuf>,

    /// Log format; the level comes from RUST_LOG [default: text]
    #[arg(long, env = "ESSENSYS_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<LogFormat>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format.unwrap_or_default());
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("essensys-mcp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("essensys-mcp: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if !(cli.store.starts_with("redis://") || cli.store.starts_with("rediss://")) {
        bail!(
            "--store {:?}: essensys-mcp reads the state a backend keeps in Redis; give that \
             backend's redis://HOST:PORT/DB (or serve MCP from the backend itself with \
             essensys-backend --mcp-token)",
            cli.store
        );
    }
    let Some(settings) = McpSettings::resolve(
        cli.mcp_token,
        cli.mcp_token_file,
        cli.mcp_allowed_hosts,
        cli.docker_socket,
    )?
    else {
        bail!("no token: give --mcp-token TOKEN, ESSENSYS_MCP_TOKEN or --mcp-token-file FILE");
    };
    let redis = RedisState::connect(RedisOptions::new(cli.store.clone()))
        .await
        .context("cannot use the Redis store")?;
    let recorder = Arc::new(Recorder::default());
    let ports = Ports {
        store: redis.clone(),
        queue: redis.clone(),
        events: recorder.clone(),
        clock: Arc::new(SystemClock),
        guids: Arc::new(RandomGuids),
    };
    let gateway = Arc::new(Gateway::new(ports, GatewayConfig::default()));
    let health = redis.clone();
    let vitals = Vitals {
        store_kind: "redis",
        store_health: Some(Arc::new(move || {
            let health = health.health();
            StoreHealth {
                up: matches!(health, Health::Up),
                detail: format!("{health:?}"),
            }
        }) as Probe<_>),
        mqtt_connected: None,
        counters: None,
    };
    let up = redis.clone();
    let metrics = Sources {
        gateway: gateway.clone(),
        recorder,
        store_up: Some(Arc::new(move || matches!(up.health(), Health::Up))),
        mqtt_connected: None,
    };
    let allowed_hosts = settings.allowed_hosts.clone();
    let app = Router::new()
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .merge(essensys_prometheus::routes(metrics))
        .merge(essensys_mcp::routes(gateway, settings.config(vitals)));
    let listener = TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    info!(listen = %cli.listen, ?allowed_hosts, "essensys-mcp ready: /mcp (Streamable HTTP), /sse + /messages (legacy SSE)");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    info!("stopped");
    Ok(())
}
