//! Shared by the backend's integration tests: the whole backend in-process on a free port, and a
//! plain HTTP client for the API.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;

use clap::Parser;
use essensys_backend::{serve, Cli, Settings};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Starts the backend (memory store) on 127.0.0.1 with a free port and extra flags.
pub async fn start(extra: &[&str]) -> SocketAddr {
    let mut args = vec!["essensys-backend", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
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

/// One API request; returns the status code and the body.
pub async fn api(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: gateway\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.expect("read");
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
