//! The box server over real TCP sockets: framing, bounds, deadlines, the fallback router.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{routing::get, Router};
use essensys_core::{
    event::{BoxEndpoint, EventKind},
    gateway::GatewayConfig,
    gateway::Ports,
    ports::Timestamp,
    Gateway,
};
use essensys_legacy_http::{request, Server, ServerConfig};
use essensys_memory::{CountingGuids, ManualClock, MemoryQueue, MemoryStore, RecordedEvents};
use proptest::prelude::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

async fn start(deadline: Duration) -> (SocketAddr, Arc<RecordedEvents>) {
    let events = Arc::new(RecordedEvents::default());
    let ports = Ports {
        store: Arc::new(MemoryStore::new()),
        queue: Arc::new(MemoryQueue::new()),
        events: events.clone(),
        clock: Arc::new(ManualClock::new(Timestamp(0))),
        guids: Arc::new(CountingGuids::default()),
    };
    let gateway = Arc::new(Gateway::new(ports, GatewayConfig::default()));
    let router = Router::new().route("/hello", get(|| async { "hello" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = ServerConfig {
        request_deadline: deadline,
        ..ServerConfig::default()
    };
    let server = Server::new(gateway, router, config);
    tokio::spawn(server.run(listener, std::future::pending::<()>()));
    (addr, events)
}

/// Sends `request` in one write and reads the whole reply until the server closes.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
        .await
        .expect("reply in time")
        .expect("read");
    reply
}

fn status_line(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn box_endpoints_answer_with_the_firmware_status_codes() {
    let (addr, _) = start(Duration::from_secs(10)).await;
    let infos = exchange(
        addr,
        b"GET /api/serverinfos HTTP/1.1 \r\nhost: mon.essensys.fr\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&infos), "HTTP/1.1 200 OK");
    assert!(String::from_utf8_lossy(&infos).contains(r#"{"isconnected":true,"infos":["#));
    let status = exchange(
        addr,
        b"POST /api/mystatus HTTP/1.1\r\nContent-Length: 25\r\n\r\n{\"version\":\"V37\",\"ek\":[]}",
    )
    .await;
    assert_eq!(status_line(&status), "HTTP/1.1 201 Created");
    let garbled = exchange(
        addr,
        b"POST /api/mystatus HTTP/1.1\r\nContent-Length: 7\r\n\r\n{garbl!",
    )
    .await;
    assert_eq!(
        status_line(&garbled),
        "HTTP/1.1 201 Created",
        "a garbled status still gets 201"
    );
    let actions = exchange(addr, b"GET /api/myactions HTTP/1.1 \r\n\r\n").await;
    assert!(actions.ends_with(br#"{"_de67f":null,"actions":[]}"#));
    let done = exchange(
        addr,
        b"POST /api/done/unknown-guid HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(
        status_line(&done),
        "HTTP/1.1 201 Created",
        "unknown guids are acked"
    );
}

#[tokio::test]
async fn other_paths_go_to_the_router_in_one_reply() {
    let (addr, events) = start(Duration::from_secs(10)).await;
    let reply = exchange(addr, b"GET /hello HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello"));
    let missing = exchange(addr, b"GET /nowhere HTTP/1.1\r\n\r\n").await;
    assert_eq!(status_line(&missing), "HTTP/1.1 404 Not Found");
    let box_requests = events
        .take()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::BoxRequest { .. }))
        .count();
    assert_eq!(box_requests, 0, "API requests are not box requests");
}

#[tokio::test]
async fn each_box_request_is_an_event_with_its_endpoint_and_status() {
    let (addr, events) = start(Duration::from_secs(10)).await;
    exchange(addr, b"GET /api/serverinfos HTTP/1.1 \r\n\r\n").await;
    exchange(
        addr,
        b"POST /api/done/abc HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let seen: Vec<(BoxEndpoint, u16, bool)> = events
        .take()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::BoxRequest {
                client,
                endpoint,
                status,
                ..
            } => Some((endpoint, status, client.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (BoxEndpoint::ServerInfos, 200, true),
            (BoxEndpoint::Done, 201, true)
        ]
    );
}

#[tokio::test]
async fn clients_expecting_100_continue_get_it_before_sending_the_body() {
    let (addr, _) = start(Duration::from_secs(10)).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"POST /api/mystatus HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 25\r\n\r\n",
        )
        .await
        .expect("send head");
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut interim))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
        .write_all(br#"{"version":"V37","ek":[]}"#)
        .await
        .expect("send body");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.expect("read");
    assert_eq!(status_line(&reply), "HTTP/1.1 201 Created");
}

#[tokio::test]
async fn oversized_and_malformed_requests_get_clear_errors() {
    let (addr, _) = start(Duration::from_secs(10)).await;
    let mut big = b"GET /hello HTTP/1.1\r\nX-Junk: ".to_vec();
    big.resize(request::MAX_HEAD + 100, b'a');
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        status_line(&exchange(addr, &big).await),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    let huge_body = b"POST /api/mystatus HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
    let reply = exchange(addr, huge_body).await;
    assert_eq!(status_line(&reply), "HTTP/1.1 413 Payload Too Large");
    assert!(String::from_utf8_lossy(&reply)
        .contains("request body of 100000 bytes exceeds 65536 bytes"));
    assert_eq!(
        status_line(&exchange(addr, b"\x00\x01\x02 garbage\r\n\r\n").await),
        "HTTP/1.1 400 Bad Request"
    );
    // and the server lives on
    assert_eq!(
        status_line(&exchange(addr, b"GET /hello HTTP/1.1\r\n\r\n").await),
        "HTTP/1.1 200 OK"
    );
}

#[tokio::test]
async fn a_slow_sender_is_cut_off_and_does_not_hold_up_others() {
    let (addr, events) = start(Duration::from_millis(300)).await;
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /api/serverinfos HTTP/1.1 \r\nhost:")
        .await
        .expect("send half");
    // another box is served while the slow one dawdles
    let reply = exchange(addr, b"GET /api/serverinfos HTTP/1.1 \r\n\r\n").await;
    assert_eq!(status_line(&reply), "HTTP/1.1 200 OK");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(matches!(read, Ok(Ok(_))), "the slow connection is closed");
    assert_eq!(status_line(&rest), "HTTP/1.1 408 Request Timeout");
    assert!(
        String::from_utf8_lossy(&rest).contains(r#"{"error":"the request did not arrive whole"#)
    );
    let timeouts = events
        .take()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Timeout { .. }))
        .count();
    assert_eq!(timeouts, 1);
}

#[tokio::test]
async fn http_edges_get_the_status_that_says_what_is_wrong() {
    let (addr, _) = start(Duration::from_millis(300)).await;
    // a body shorter than announced: 408 once the deadline passes, with a JSON error
    let reply = exchange(
        addr,
        b"POST /hello HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
    )
    .await;
    assert_eq!(status_line(&reply), "HTTP/1.1 408 Request Timeout");
    let chunked =
        b"POST /hello HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let reply = exchange(addr, chunked).await;
    assert_eq!(status_line(&reply), "HTTP/1.1 411 Length Required");
    assert!(String::from_utf8_lossy(&reply).contains("Content-Length"));
    let two = b"POST /hello HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
    assert_eq!(
        status_line(&exchange(addr, two).await),
        "HTTP/1.1 400 Bad Request"
    );
    for (request, allow) in [
        (
            &b"POST /api/serverinfos HTTP/1.1\r\nContent-Length: 0\r\n\r\n"[..],
            "GET",
        ),
        (b"GET /api/mystatus HTTP/1.1\r\n\r\n", "POST"),
        (b"GET /api/done/abc HTTP/1.1\r\n\r\n", "POST"),
    ] {
        let reply = exchange(addr, request).await;
        let text = String::from_utf8_lossy(&reply);
        assert_eq!(
            status_line(&reply),
            "HTTP/1.1 405 Method Not Allowed",
            "{text}"
        );
        assert!(text.contains(&format!("Allow: {allow}\r\n")), "{text}");
        assert!(text.contains(&format!("the box sends {allow}")), "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// No byte sequence panics the head parser, and a parsed head never claims more than it read.
    #[test]
    fn head_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(Some(head)) = request::parse_head(&bytes) {
            prop_assert!(head.len <= bytes.len());
            prop_assert!(head.content_length <= request::MAX_BODY);
        }
    }

    /// Heads built from firmware-like parts parse whatever the line ends and header case.
    #[test]
    fn permissive_heads_parse(lf_only in any::<bool>(), trailing_space in any::<bool>(), upper in any::<bool>(), len in 0usize..2000) {
        let eol = if lf_only { "\n" } else { "\r\n" };
        let name = if upper { "CONTENT-LENGTH" } else { "content-length" };
        let space = if trailing_space { " " } else { "" };
        let raw = format!("POST /api/mystatus HTTP/1.1{space}{eol}host: mon.essensys.fr{eol}junk line{eol}{name}: {len}{eol}{eol}");
        let head = request::parse_head(raw.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let head = head.ok_or_else(|| TestCaseError::fail("incomplete"))?;
        prop_assert_eq!((head.method, head.path(), head.content_length, head.len), ("POST", "/api/mystatus", len, raw.len()));
    }
}
