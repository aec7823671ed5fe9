//! The listener: accepts connections, reads one request each within a deadline, answers it
//! with one write, closes.
//!
//! Shaped like mini-redis's `server.rs`: `run(listener, …, shutdown)`; a semaphore caps open
//! connections; a connection's failure is logged in its own task and never stops the listener;
//! on shutdown, accepting stops and in-flight replies are finished (bounded by the deadline).
//!
//! An API answer that is an event stream (MCP's server-sent events) is the one reply not sent
//! in one write: after its head, each event is written as it comes (each write within the
//! deadline) until the stream ends, the client closes its side, or the server shuts down.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{body::Body, Router};
use essensys_core::{event::EventKind, Gateway};
use http_body_util::BodyExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{sleep, timeout, Instant},
};
use tracing::{debug, error, info, warn};

use crate::{
    box_api::{self, Admission, BoxApi, Endpoint},
    connections::{Connections, Refusal, Slot},
    fallback,
    request::{self, RequestError, MAX_HEAD},
    response::{self, error_body, Status},
};

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The whole request must arrive within this time, or the connection is closed.
    pub request_deadline: Duration,
    /// The request's head must arrive within this time (the box sends it in one write).
    pub head_deadline: Duration,
    /// The most connections handled at once; when all are taken, the oldest one that has not
    /// sent its head yet is shed for a newcomer.
    pub max_connections: usize,
    /// The most connections one source address may hold at once.
    pub max_per_source: usize,
    /// Addresses not held to `max_per_source` (a proxy in front, through which everyone comes).
    pub unlimited_sources: Vec<IpAddr>,
    /// Which boxes are served.
    pub admission: Admission,
    /// Bytes a reverse proxy in front adds to each reply's head (nginx adds `Server` and
    /// `Date`: 52 bytes), so that `myactions` replies still reach the box in one segment; at
    /// most [`box_api::MAX_HEADROOM`].
    pub reply_headroom: usize,
}

impl ServerConfig {
    /// The longest a connection can take once accepted, what the shutdown waits for: its
    /// request read and answered within the request deadline, then the reply's write and the
    /// close, each within it too. (An event stream ends as the shutdown starts.)
    pub fn longest_connection(&self) -> Duration {
        self.request_deadline.saturating_mul(3)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            request_deadline: Duration::from_secs(10),
            head_deadline: Duration::from_secs(2),
            max_connections: 512,
            max_per_source: 32,
            unlimited_sources: Vec::new(),
            admission: Admission::Open,
            reply_headroom: 0,
        }
    }
}

/// What every connection needs, shared.
pub struct Server {
    boxes: BoxApi,
    router: Router,
    config: ServerConfig,
    /// Turns `true` when the server stops: open event streams end.
    stopping: watch::Sender<bool>,
}

impl Server {
    /// A server answering boxes through `gateway` and everything else through `router`. What
    /// happens (requests, timeouts, refusals) is published through the gateway's event sink.
    pub fn new(gateway: Arc<Gateway>, router: Router, config: ServerConfig) -> Arc<Self> {
        let boxes = BoxApi {
            gateway,
            admission: config.admission.clone(),
            budget: box_api::myactions_budget(config.reply_headroom.min(box_api::MAX_HEADROOM)),
            throttle: crate::throttle::Throttle::new(Duration::from_secs(30)),
        };
        Arc::new(Self {
            boxes,
            router,
            config,
            stopping: watch::Sender::new(false),
        })
    }

    /// Serves connections from `listener` until `shutdown` completes, then waits for the
    /// connections in flight (at most [`ServerConfig::longest_connection`]) and returns.
    pub async fn run(self: Arc<Self>, listener: TcpListener, shutdown: impl Future) {
        let connections = Connections::new(
            self.config.max_connections,
            self.config.max_per_source,
            self.config.unlimited_sources.clone(),
        );
        tokio::select! {
            () = self.clone().accept_loop(&listener, connections.clone()) => {}
            _ = shutdown => info!("shutting down: no new connections"),
        }
        drop(listener);
        self.stopping.send_replace(true);
        let until = Instant::now() + self.config.longest_connection();
        while !connections.is_empty() && Instant::now() < until {
            sleep(Duration::from_millis(20)).await;
        }
        if !connections.is_empty() {
            warn!("shutdown: some connections were still open after the longest a connection can take");
        }
    }

    async fn accept_loop(self: Arc<Self>, listener: &TcpListener, connections: Arc<Connections>) {
        let mut backoff = Duration::from_millis(10);
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    backoff = Duration::from_millis(10);
                    let slot = loop {
                        match connections.admit(peer.ip()) {
                            Ok(slot) => break Some(slot),
                            // every slot busy and none idle long: serve this one in turn
                            Err(Refusal::Full) => {
                                let _ =
                                    timeout(Duration::from_millis(50), connections.freed()).await;
                            }
                            Err(refusal @ Refusal::PerSource) => {
                                // closed at once: nothing is read from it, nothing is owed to it
                                debug!(%peer, ?refusal, "connection refused");
                                self.boxes.gateway.publish(EventKind::Rejected {
                                    peer: peer.ip(),
                                    status: 429,
                                    reason: "connection refused: too many from this address".into(),
                                });
                                break None;
                            }
                        }
                    };
                    let Some(slot) = slot else {
                        drop(stream);
                        continue;
                    };
                    let server = self.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            () = server.connection(stream, peer, &slot) => {}
                            () = slot.shed() => debug!(%peer, "idle connection shed for a newcomer"),
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin, do not stop.
                    error!(error = %e, "accept failed; retrying in {backoff:?}");
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn connection(&self, mut stream: TcpStream, peer: SocketAddr, slot: &Slot) {
        let mut out = Vec::with_capacity(2048);
        let mut events = None;
        match timeout(
            self.config.request_deadline,
            self.read_and_answer(&mut stream, peer, slot, &mut out),
        )
        .await
        {
            Ok(Ok(stream_body)) => events = stream_body,
            Ok(Err(e)) => debug!(%peer, error = %e, "connection failed"),
            Err(_) => {
                debug!(%peer, "request deadline passed: closing");
                self.boxes
                    .gateway
                    .publish(EventKind::Timeout { peer: peer.ip() });
                // say why, in case someone is still listening (a body shorter than announced)
                let mut reply = Vec::new();
                let message = format!(
                    "the request did not arrive whole within {} s (a body shorter than its \
                     Content-Length?)",
                    self.config.request_deadline.as_secs()
                );
                response::error(&mut reply, Status(408), &message);
                let _ = within(Duration::from_secs(1), stream.write_all(&reply)).await;
                return;
            }
        }
        if out.is_empty() {
            return;
        }
        // One write of the whole reply (of an event stream's head), then close. Each write has
        // its own deadline.
        let deadline = self.config.request_deadline;
        let write = async {
            // A one-write reply needs no TCP_NODELAY (Nagle holds nothing back on a connection
            // with nothing unacknowledged, and the close pushes the rest): one syscall saved
            // per request. An event stream writes as events come: there it matters.
            within(deadline, stream.write_all(&out)).await?;
            if let Some(body) = events {
                if let Err(e) = stream.set_nodelay(true) {
                    debug!(%peer, error = %e, "TCP_NODELAY not set");
                }
                self.stream_events(&mut stream, body).await?;
            }
            within(deadline, stream.shutdown()).await
        };
        if let Err(e) = write.await {
            debug!(%peer, error = %e, "reply not delivered");
        }
    }

    /// Writes an event stream's body as it comes, until it ends, the client closes its side
    /// (or sends anything: a request is over once read), or the server stops.
    async fn stream_events(&self, stream: &mut TcpStream, mut body: Body) -> std::io::Result<()> {
        let deadline = self.config.request_deadline;
        let mut stopping = self.stopping.subscribe();
        let stopped = async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stopped);
        let mut probe = [0u8; 64];
        loop {
            tokio::select! {
                frame = body.frame() => match frame {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            within(deadline, stream.write_all(data)).await?;
                        }
                    }
                    Some(Err(e)) => return Err(std::io::Error::other(e)),
                    None => return Ok(()),
                },
                read = stream.read(&mut probe) => {
                    // 0: the client is gone; data or an error: nothing more is expected from it.
                    let _ = read;
                    return Ok(());
                }
                () = &mut stopped => return Ok(()),
            }
        }
    }

    /// Reads one request and appends the reply to `out` (left empty if the peer went away);
    /// returns the body still to be sent when the reply is an event stream.
    async fn read_and_answer(
        &self,
        stream: &mut TcpStream,
        peer: SocketAddr,
        slot: &Slot,
        out: &mut Vec<u8>,
    ) -> std::io::Result<Option<Body>> {
        let mut buf = Vec::with_capacity(2048);
        let mut scan = request::HeadScan::default();
        let head = async {
            loop {
                if let Some(len) = scan.feed(&buf) {
                    return Ok(Some(len));
                }
                if buf.len() > MAX_HEAD {
                    return Ok(Some(buf.len()));
                }
                if read_some(stream, &mut buf, MAX_HEAD + 1).await? == 0 {
                    return Ok(None); // closed before a whole head arrived
                }
            }
        };
        let head_len = match timeout(self.config.head_deadline, head).await {
            Ok(Ok(Some(len))) => len,
            Ok(Ok(None)) => return Ok(None),
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                debug!(%peer, "request head not in time: closing");
                self.boxes
                    .gateway
                    .publish(EventKind::Timeout { peer: peer.ip() });
                let message = format!(
                    "the request head did not arrive within {} ms",
                    self.config.head_deadline.as_millis()
                );
                response::error(out, Status(408), &message);
                return Ok(None);
            }
        };
        slot.head_done();
        let head = match request::parse_head(&buf[..head_len.min(buf.len())]) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(self.reject(out, peer, RequestError::HeadTooLarge)),
            Err(e) => return Ok(self.reject(out, peer, e)),
        };
        let wanted = head.len + head.content_length;
        let mut body = buf
            .get(head.len..wanted.min(buf.len()))
            .unwrap_or_default()
            .to_vec();
        let expects_continue = head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects_continue && body.len() < head.content_length {
            // curl and other API clients wait for this before sending a body (the box never asks)
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        while body.len() < head.content_length {
            if read_some(stream, &mut body, head.content_length).await? == 0 {
                return Ok(None); // closed mid-body
            }
        }
        Ok(match Endpoint::of(&head) {
            Some(endpoint) => {
                self.boxes
                    .answer(endpoint, &head, &body, peer.ip(), out)
                    .await;
                None
            }
            None => match box_api::method_of(head.path()) {
                Some(method) => {
                    let message = format!(
                        "{} {} is not a box request: the box sends {method} {}",
                        head.method,
                        head.path(),
                        head.path()
                    );
                    response::write(
                        out,
                        Status(405),
                        response::JSON,
                        &[("Allow", method)],
                        &error_body(&message),
                    );
                    None
                }
                None => fallback::answer(&self.router, &head, body, peer, out).await,
            },
        })
    }

    fn reject(&self, out: &mut Vec<u8>, peer: SocketAddr, error: RequestError) -> Option<Body> {
        let status = match error {
            RequestError::HeadTooLarge => Status(431),
            RequestError::BodyTooLarge(_) => Status(413),
            RequestError::TransferEncoding => Status(411),
            _ => Status(400),
        };
        let reason = error.to_string();
        debug!(%peer, %reason, "request refused");
        response::error(out, status, &reason);
        self.boxes.gateway.publish(EventKind::Rejected {
            peer: peer.ip(),
            status: status.0,
            reason,
        });
        None
    }
}

/// `io` if it completes within `deadline`, else a time-out error.
async fn within<T>(
    deadline: Duration,
    io: impl Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    timeout(deadline, io)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// Reads what is available into `buf` without growing it past `limit` bytes; returns how many
/// bytes were read (0 at end of stream or when `buf` is full).
async fn read_some(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    let room = limit.saturating_sub(buf.len());
    if room == 0 {
        return Ok(0);
    }
    let start = buf.len();
    buf.resize(start + room.min(16 * 1024), 0);
    let n = stream.read(&mut buf[start..]).await;
    buf.truncate(start + *n.as_ref().unwrap_or(&0));
    n
}
