//! The `essensys-backend` binary: parse the configuration, start logging, bind, serve until
//! SIGINT/SIGTERM.

use std::{io::ErrorKind, process::ExitCode};

use anyhow::Context;
use clap::Parser;
use essensys_backend::{
    process::{init_logging, shutdown_signal},
    serve, Cli, Settings,
};
use tokio::net::TcpListener;
use tracing::info;

fn main() -> ExitCode {
    let settings = match Settings::resolve(Cli::parse()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("essensys-backend: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(settings.log_format);
    match run(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("essensys-backend: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(settings: Settings) -> anyhow::Result<()> {
    // One thread by default: measured cheaper per request than a multi-thread pool for this
    // one-request-per-connection load (see README, benchmark).
    let mut builder = if settings.worker_threads > 1 {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(settings.worker_threads);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| bind_error(settings.listen, e))?;
        info!(
            listen = %settings.listen,
            store = settings.store.name(),
            strict = !settings.box_keys.is_empty(),
            admin_token = settings.admin_token.is_some(),
            mqtt = settings.mqtt.as_ref().map(|m| m.broker.shown()).as_deref().unwrap_or("off"),
            "essensys-backend ready"
        );
        if settings.admin_token.is_none() {
            tracing::warn!(
                "no --admin-token: /api/admin/* and /api/v1/* answer anyone on the local network \
                 (loopback and private addresses; others get 403); set --admin-token to require one"
            );
        }
        serve(settings, listener, shutdown_signal()).await?;
        info!("stopped");
        Ok(())
    })
}

fn bind_error(addr: std::net::SocketAddr, e: std::io::Error) -> anyhow::Error {
    let hint = match e.kind() {
        ErrorKind::PermissionDenied => format!(
            "ports below 1024 need privileges: run `sudo setcap cap_net_bind_service=+ep $(command -v essensys-backend)`, \
             or listen on another port (`--listen 0.0.0.0:8080`) behind a proxy that forwards port {}",
            addr.port()
        ),
        ErrorKind::AddrInUse => format!(
            "another program already listens on {addr} (find it with `ss -ltnp 'sport = :{}'`), or choose another \
             address with --listen",
            addr.port()
        ),
        ErrorKind::AddrNotAvailable => "this machine has no such address: use 0.0.0.0 or one of its own addresses".into(),
        _ => "check --listen".into(),
    };
    anyhow::anyhow!("cannot listen on {addr}: {e}\n  hint: {hint}")
}
