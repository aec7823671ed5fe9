//! A permissive parser of request heads, for what the firmware and real networks send.
//!
//! Accepted on purpose: a trailing space before the line end (`GET /api/serverinfos HTTP/1.1 \r\n`),
//! bare LF line ends, header names in any case (`host`, `Content-type`), header lines without a
//! colon (ignored). The head ends at the first empty line. Nothing here allocates or panics.

use thiserror::Error;

/// The most bytes a request head may take.
pub const MAX_HEAD: usize = 8 * 1024;
/// The most bytes a request body may take.
pub const MAX_BODY: usize = 64 * 1024;
/// The most header lines kept (others are ignored).
pub const MAX_HEADERS: usize = 32;

/// A parsed request head, borrowing from the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// The method as sent (`GET`, `POST`, …).
    pub method: &'a str,
    /// The request target (`/api/done/<guid>`), query included.
    pub target: &'a str,
    /// The header lines that have a colon, name and value trimmed, in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The body length announced by `Content-Length` (any case), 0 if absent.
    pub content_length: usize,
    /// The number of bytes of the head, terminating empty line included.
    pub len: usize,
}

impl<'a> Head<'a> {
    /// The value of the first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The path: the target without its query string.
    pub fn path(&self) -> &'a str {
        self.target
            .split_once('?')
            .map_or(self.target, |(path, _)| path)
    }
}

/// Why a request cannot be served.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    /// The head is longer than [`MAX_HEAD`].
    #[error("request head exceeds {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// The announced body is longer than [`MAX_BODY`].
    #[error("request body of {0} bytes exceeds {MAX_BODY} bytes")]
    BodyTooLarge(usize),
    /// The request line is not `METHOD TARGET [VERSION]`.
    #[error("malformed request line")]
    BadRequestLine,
    /// `Content-Length` is not a number.
    #[error("malformed Content-Length")]
    BadContentLength,
    /// The head is not ASCII/UTF-8 text.
    #[error("request head is not text")]
    NotText,
    /// Two `Content-Length` headers disagree: which body is meant cannot be known.
    #[error("two different Content-Length values")]
    ConflictingContentLength,
    /// `Transfer-Encoding` (chunked bodies) is not supported.
    #[error("Transfer-Encoding is not supported: send the body with a Content-Length")]
    TransferEncoding,
}

/// Parses the head at the start of `buf`: `Ok(None)` while the empty line that ends it has not
/// arrived yet (read more), `Ok(Some(head))` once it has.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head<'_>>, RequestError> {
    let Some(len) = head_end(buf) else {
        return if buf.len() > MAX_HEAD {
            Err(RequestError::HeadTooLarge)
        } else {
            Ok(None)
        };
    };
    if len > MAX_HEAD {
        return Err(RequestError::HeadTooLarge);
    }
    let text = std::str::from_utf8(&buf[..len]).map_err(|_| RequestError::NotText)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut words = request_line.split_ascii_whitespace();
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err(RequestError::BadRequestLine);
    };
    if !method.bytes().all(|b| b.is_ascii_uppercase()) || !target.starts_with('/') {
        return Err(RequestError::BadRequestLine);
    }
    let mut headers = Vec::with_capacity(10);
    let mut content_length = None;
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue; // a line without a colon is ignored
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            let length = parse_length(value)?;
            if content_length.is_some_and(|seen| seen != length) {
                return Err(RequestError::ConflictingContentLength);
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(RequestError::TransferEncoding);
        }
        if headers.len() < MAX_HEADERS {
            headers.push((name, value));
        }
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_BODY {
        return Err(RequestError::BodyTooLarge(content_length));
    }
    Ok(Some(Head {
        method,
        target,
        headers,
        content_length,
        len,
    }))
}

fn parse_length(value: &str) -> Result<usize, RequestError> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::BadContentLength);
    }
    value.parse().map_err(|_| RequestError::BadContentLength)
}

/// The length of the head once it has fully arrived: up to and including the first empty line
/// (`\r\n` or `\n`).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    HeadScan::default().feed(buf)
}

/// [`head_end`] over a buffer that grows: each call scans only the bytes added since the last,
/// so a head arriving a byte at a time costs linear, not quadratic, time.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadScan {
    /// Where the current line starts.
    line_start: usize,
    /// How much of the buffer has been scanned.
    scanned: usize,
}

impl HeadScan {
    /// The head's length once `buf` (the same buffer as before, grown) holds its end.
    pub fn feed(&mut self, buf: &[u8]) -> Option<usize> {
        for (at, &b) in buf.iter().enumerate().skip(self.scanned) {
            if b == b'\n' {
                let line = &buf[self.line_start..at];
                if line.is_empty() || line == b"\r" {
                    self.scanned = at + 1;
                    return Some(at + 1);
                }
                self.line_start = at + 1;
            }
        }
        self.scanned = buf.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_end_is_found_byte_by_byte_as_at_once() {
        let raw = b"GET /api/serverinfos HTTP/1.1 \r\nhost: x\r\n\r\nbody";
        let mut scan = HeadScan::default();
        let mut found = None;
        for n in 1..=raw.len() {
            if let Some(len) = scan.feed(&raw[..n]) {
                found = Some((n, len));
                break;
            }
        }
        assert_eq!(found, Some((raw.len() - 4, raw.len() - 4)));
        assert_eq!(head_end(raw), Some(raw.len() - 4));
        let mut lf = HeadScan::default();
        assert_eq!(lf.feed(b"GET / HTTP/1.1\n"), None);
        assert_eq!(lf.feed(b"GET / HTTP/1.1\n\n"), Some(16));
    }

    #[test]
    fn firmware_get_with_trailing_space() {
        let raw = b"GET /api/serverinfos HTTP/1.1 \r\nhost: mon.essensys.fr\r\nAuthorization: Basic abc\r\n\r\n";
        let head = parse_head(raw).expect("valid").expect("complete");
        assert_eq!((head.method, head.path()), ("GET", "/api/serverinfos"));
        assert_eq!(head.header("Host"), Some("mon.essensys.fr"));
        assert_eq!(head.header("authorization"), Some("Basic abc"));
        assert_eq!(head.len, raw.len());
    }

    #[test]
    fn bare_lf_any_case_and_junk_lines() {
        let raw = b"POST /api/mystatus HTTP/1.1\nCONTENT-LENGTH: 5\nthis line has no colon\nContent-type: application/json ;charset=UTF-8\n\n12345";
        let head = parse_head(raw).expect("valid").expect("complete");
        assert_eq!(head.content_length, 5);
        assert_eq!(&raw[head.len..], b"12345");
        assert_eq!(head.headers.len(), 2);
    }

    #[test]
    fn incomplete_heads_ask_for_more() {
        let raw = b"GET /api/myactions HTTP/1.1 \r\nhost: x\r\n";
        for end in 0..raw.len() {
            assert_eq!(parse_head(&raw[..end]), Ok(None), "prefix {end}");
        }
    }

    #[test]
    fn bounds_and_malformed_heads_are_refused() {
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_HEAD + 10, b'a');
        assert_eq!(parse_head(&big), Err(RequestError::HeadTooLarge));
        assert_eq!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n"),
            Err(RequestError::BodyTooLarge(70_000))
        );
        assert_eq!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Err(RequestError::BadContentLength)
        );
        assert_eq!(parse_head(b"\r\n\r\n"), Err(RequestError::BadRequestLine));
        assert_eq!(
            parse_head(b"POST /a HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\n"),
            Err(RequestError::ConflictingContentLength)
        );
        assert!(matches!(
            parse_head(b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
            Ok(Some(Head {
                content_length: 3,
                ..
            }))
        ));
        assert_eq!(
            parse_head(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(RequestError::TransferEncoding)
        );
        assert_eq!(
            parse_head(b"GET\r\n\r\n"),
            Err(RequestError::BadRequestLine)
        );
        assert_eq!(
            parse_head(b"get / HTTP/1.1\r\n\r\n"),
            Err(RequestError::BadRequestLine)
        );
        assert_eq!(
            parse_head(b"GET \xff HTTP/1.1\r\n\r\n"),
            Err(RequestError::NotText)
        );
    }
}
