//! A tiny fake gateway for the tests: a TcpListener on 127.0.0.1:0 that records each request
//! and answers with canned bytes chosen by the request's endpoint. Replies are written by hand
//! here, never with core's encoders.

#![allow(dead_code)]

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use essensys_bp_sim::{exchange::Timing, SimConfig};
use essensys_core::matricule::Key;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// The fixtures' placeholder key.
pub const KEY: &str = "12345678901234567890123456789012";
/// The guid of `fixtures/box/done.http`.
pub const FIXTURE_GUID: &str = "806b4fc7-a820-4c49-9ae8-24ced8f6770f";

/// The fixtures' key.
pub fn key() -> Key {
    Key::parse(KEY).expect("the fixtures' key is 32 digits")
}

/// A file of `fixtures/box/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/box")).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A sim config for tests: no step gaps, short timeouts.
pub fn config(server: SocketAddr, key: Option<Key>) -> SimConfig {
    SimConfig {
        key,
        timing: Timing {
            connect_timeout: Duration::from_secs(2),
            reply_timeout: Duration::from_secs(2),
            overflow_window: Duration::from_millis(50),
        },
        step_gap: Duration::ZERO,
        ..SimConfig::new(server)
    }
}

/// How the fake server answers one request.
#[derive(Clone, Debug)]
pub enum Canned {
    /// One write, then close.
    Whole(Vec<u8>),
    /// Several writes with a pause between them, then close.
    Pieces(Vec<Vec<u8>>, Duration),
    /// Read the request, never answer (until the server is dropped).
    Silent,
    /// Close without a byte.
    Close,
}

/// A reply in the Go gateway's layout (§3.5): status, Connection, Content-Length, Content-Type.
pub fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json ;charset=UTF-8\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `200 OK` with a serverinfos body.
pub fn serverinfos(connected: bool, infos: &[u16]) -> Canned {
    let infos: Vec<String> = infos.iter().map(u16::to_string).collect();
    Canned::Whole(http(
        "200 OK",
        &format!(
            r#"{{"isconnected":{connected},"infos":[{}],"newversion":"no"}}"#,
            infos.join(",")
        ),
    ))
}

/// `201 Created`, empty body.
pub fn created() -> Canned {
    Canned::Whole(http("201 Created", ""))
}

/// `200 OK` with a myactions body.
pub fn myactions(body: &str) -> Canned {
    Canned::Whole(http("200 OK", body))
}

/// The endpoint a request is for: `serverinfos`, `mystatus`, `myactions`, `done` or `other`.
pub fn endpoint(request: &[u8]) -> &'static str {
    let line_end = request
        .iter()
        .position(|&b| b == b'\r')
        .unwrap_or(request.len());
    let line = &request[..line_end];
    if line.starts_with(b"GET /api/serverinfos ") {
        "serverinfos"
    } else if line.starts_with(b"POST /api/mystatus ") {
        "mystatus"
    } else if line.starts_with(b"GET /api/myactions ") {
        "myactions"
    } else if line.starts_with(b"POST /api/done/") {
        "done"
    } else {
        "other"
    }
}

/// The request line, without CRLF.
pub fn request_line(request: &[u8]) -> String {
    let end = request
        .iter()
        .position(|&b| b == b'\r')
        .unwrap_or(request.len());
    String::from_utf8_lossy(&request[..end]).into_owned()
}

/// The body of a request (after the blank line).
pub fn body(request: &[u8]) -> String {
    let at = request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(request.len(), |p| p + 4);
    String::from_utf8_lossy(&request[at..]).into_owned()
}

type Responder = dyn Fn(&[u8]) -> Canned + Send + Sync;

/// The fake server. Dropping it stops it and every connection it holds.
pub struct FakeServer {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Starts a server answering each request with `respond(request bytes)`.
    pub async fn start(respond: impl Fn(&[u8]) -> Canned + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (respond, seen) = (Arc::clone(&respond), Arc::clone(&seen));
                connections.spawn(serve(stream, respond, seen));
                while connections.try_join_next().is_some() {}
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    /// A server answering by endpoint: serverinfos, mystatus, myactions, done.
    pub async fn scripted(
        serverinfos: Canned,
        mystatus: Canned,
        myactions: Canned,
        done: Canned,
    ) -> Self {
        Self::start(move |request| match endpoint(request) {
            "serverinfos" => serverinfos.clone(),
            "mystatus" => mystatus.clone(),
            "myactions" => myactions.clone(),
            "done" => done.clone(),
            _ => Canned::Whole(http("404 Not Found", "")),
        })
        .await
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The request lines received so far.
    pub fn lines(&self) -> Vec<String> {
        self.requests().iter().map(|r| request_line(r)).collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: read a whole request (head + Content-Length body), record it, answer.
async fn serve(mut stream: TcpStream, respond: Arc<Responder>, seen: Arc<Mutex<Vec<Vec<u8>>>>) {
    let mut request = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(head_end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= head_end + 4 + length {
                break;
            }
        }
        if request.len() > 16 * 1024 {
            return;
        }
    }
    if let Ok(mut all) = seen.lock() {
        all.push(request.clone());
    }
    match respond(&request) {
        Canned::Whole(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Canned::Pieces(pieces, pause) => {
            for (n, piece) in pieces.iter().enumerate() {
                if n > 0 {
                    tokio::time::sleep(pause).await;
                }
                let _ = stream.write_all(piece).await;
            }
        }
        Canned::Silent => tokio::time::sleep(Duration::from_secs(60)).await,
        Canned::Close => {}
    }
    let _ = stream.shutdown().await;
}
