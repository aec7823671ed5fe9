//! One request the way the firmware makes it (`legacy-protocol.md` §1): a new TCP connection
//! (10 s connect timeout by default), the whole request in **one** write, **exactly one** read
//! of the reply into a buffer of `limit` bytes (1499, or 1023 for `done`), then an abortive
//! close (RST).
//!
//! Unlike the firmware, after its one read the sim watches the socket for a short window
//! ([`Timing::overflow_window`]) and counts any further bytes the server sends: the real box
//! would never see them (a reply longer than its buffer, or a reply written in several pieces).
//! The watch ends early when the server closes the connection, so a server that closes after
//! its reply costs nothing. Those later bytes are only counted; the firmware's view is
//! [`Reply::bytes`].
//!
//! The watch is best effort for a reply written in pieces: pieces that reach the socket before
//! the one read returns are read together and not noticed (they would not hurt the box either).
//! A reply longer than the buffer is always noticed if the rest arrives within the window.

use std::{io, net::SocketAddr, time::Duration};

use thiserror::Error;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{timeout, timeout_at, Instant},
};

/// The most later bytes the overflow watch reads before it stops counting.
const OVERFLOW_CAP: usize = 64 * 1024;

/// The timeouts of one exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a connect may take (the firmware's `OPT_CONNECT_TIMEOUT`: 10 s).
    pub connect_timeout: Duration,
    /// How long the write and the one read may take. The firmware's receive timeout is not in
    /// the protocol doc; 10 s by default.
    pub reply_timeout: Duration,
    /// How long to watch for bytes beyond the one read (sim only; the firmware does not).
    pub overflow_window: Duration,
}

impl Default for Timing {
    /// 10 s connect, 10 s reply, 20 ms overflow watch.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            reply_timeout: Duration::from_secs(10),
            overflow_window: Duration::from_millis(20),
        }
    }
}

/// What one exchange got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The bytes of the one read: what the firmware sees (never more than the limit).
    pub bytes: Vec<u8>,
    /// Bytes the server sent after those, seen during the overflow watch (capped at 64 KiB):
    /// the firmware would lose them.
    pub later: usize,
    /// From the start of the connect to the end of the one read.
    pub elapsed: Duration,
    /// The read limit used (1499 or 1023).
    pub limit: usize,
}

impl Reply {
    /// Whether the server sent more than the firmware reads: the buffer was filled and more
    /// bytes followed.
    pub fn too_long(&self) -> bool {
        self.later > 0 && self.bytes.len() == self.limit
    }

    /// Whether the server sent its reply in pieces: the one read returned less than the buffer
    /// and more bytes followed. The box would judge only the first piece.
    pub fn split(&self) -> bool {
        self.later > 0 && self.bytes.len() < self.limit
    }

    /// Everything the server was seen to send.
    pub fn total(&self) -> usize {
        self.bytes.len() + self.later
    }
}

/// Why an exchange got no reply.
#[derive(Debug, Error)]
pub enum ExchangeError {
    /// The connect failed (refused, unreachable…).
    #[error("connect failed: {0}")]
    Connect(#[source] io::Error),
    /// The connect did not finish in time.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// Writing the request failed.
    #[error("sending the request failed: {0}")]
    Write(#[source] io::Error),
    /// The reply did not come in time.
    #[error("no reply within {0:?}")]
    ReplyTimeout(Duration),
    /// Reading the reply failed (connection reset…).
    #[error("reading the reply failed: {0}")]
    Read(#[source] io::Error),
    /// The server closed the connection without sending a byte.
    #[error("the server closed the connection without a reply")]
    NoReply,
}

/// Sends `request` to `server` in one write and reads the reply with one read of at most
/// `limit` bytes, then watches for overflow and closes with a reset.
///
/// # Errors
/// An [`ExchangeError`] for a failed or timed-out connect, write or read, or an empty reply.
pub async fn exchange(
    server: SocketAddr,
    request: &[u8],
    limit: usize,
    timing: &Timing,
) -> Result<Reply, ExchangeError> {
    let start = Instant::now();
    let mut stream = timeout(timing.connect_timeout, TcpStream::connect(server))
        .await
        .map_err(|_| ExchangeError::ConnectTimeout(timing.connect_timeout))?
        .map_err(ExchangeError::Connect)?;
    // The request is small; no delay so it leaves at once as one segment.
    let _ = stream.set_nodelay(true);

    let deadline = Instant::now() + timing.reply_timeout;
    timeout_at(deadline, stream.write_all(request))
        .await
        .map_err(|_| ExchangeError::ReplyTimeout(timing.reply_timeout))?
        .map_err(ExchangeError::Write)?;

    let mut buffer = vec![0u8; limit];
    let read = timeout_at(deadline, stream.read(&mut buffer))
        .await
        .map_err(|_| ExchangeError::ReplyTimeout(timing.reply_timeout))?
        .map_err(ExchangeError::Read)?;
    let elapsed = start.elapsed();
    if read == 0 {
        abort(stream);
        return Err(ExchangeError::NoReply);
    }
    buffer.truncate(read);

    let later = watch_overflow(&mut stream, timing.overflow_window).await;
    abort(stream);
    Ok(Reply {
        bytes: buffer,
        later,
        elapsed,
        limit,
    })
}

/// Counts the bytes that arrive within `window` (until the server closes, an error, or the cap).
async fn watch_overflow(stream: &mut TcpStream, window: Duration) -> usize {
    let deadline = Instant::now() + window;
    let mut scratch = [0u8; 4096];
    let mut later = 0usize;
    while later < OVERFLOW_CAP {
        match timeout_at(deadline, stream.read(&mut scratch)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => later += n,
        }
    }
    later
}

/// Closes the way the firmware does: an abortive close (RST), no FIN handshake.
fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
