//! Replies as the box needs them: status line, three headers and the body in **one buffer**,
//! written with one write, then the connection is closed.
//!
//! ```text
//! HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 28\r\nContent-Type: application/json ;charset=UTF-8\r\n\r\n{"_de67f":null,"actions":[]}
//! ```
//! No header contains the substring `true` (the box searches the whole buffer for it).

use essensys_core::codec::{decimal_len, push_decimal};

/// The content type of every reply to the box (what the later gateways send).
pub const JSON: &str = "application/json ;charset=UTF-8";

/// A reply status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    /// 200 OK.
    pub const OK: Status = Status(200);
    /// 201 Created.
    pub const CREATED: Status = Status(201);

    /// The reason phrase of the status line.
    pub fn reason(self) -> &'static str {
        http::StatusCode::from_u16(self.0)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown")
    }
}

/// The length of the head [`write()`](fn@write) produces for a body of `body_len` bytes.
pub fn head_len(status: Status, content_type: &str, body_len: usize) -> usize {
    let status_line = "HTTP/1.1 200 ".len() + status.reason().len() + 2;
    status_line
        + "Connection: close\r\n".len()
        + "Content-Length: ".len()
        + decimal_len(u32::try_from(body_len).unwrap_or(u32::MAX))
        + 2
        + "Content-Type: ".len()
        + content_type.len()
        + 4
}

/// Appends a whole reply to `out`: status line, `Connection: close`, `Content-Length`,
/// `Content-Type`, any `extra` header lines (each `Name: value`), blank line, body.
pub fn write(
    out: &mut Vec<u8>,
    status: Status,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) {
    out.reserve(head_len(status, content_type, body.len()) + body.len());
    push_head(out, status, Some(body.len()), content_type, extra);
    out.extend_from_slice(body);
}

/// Appends the head of a streamed reply (server-sent events): as [`write()`](fn@write) but
/// without `Content-Length`: the body runs until the server closes the connection, as HTTP/1.1
/// allows for responses.
pub fn write_stream_head(
    out: &mut Vec<u8>,
    status: Status,
    content_type: &str,
    extra: &[(&str, &str)],
) {
    push_head(out, status, None, content_type, extra);
}

fn push_head(
    out: &mut Vec<u8>,
    status: Status,
    length: Option<usize>,
    content_type: &str,
    extra: &[(&str, &str)],
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u32::from(status.0));
    out.push(b' ');
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\nConnection: close");
    if let Some(length) = length {
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_decimal(out, u32::try_from(length).unwrap_or(u32::MAX));
    }
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    for (name, value) in extra {
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// Appends a JSON error reply `{"error":"<message>"}`.
pub fn error(out: &mut Vec<u8>, status: Status, message: &str) {
    write(out, status, JSON, &[], &error_body(message));
}

/// The JSON body `{"error":"<message>"}`, control characters replaced by spaces.
pub fn error_body(message: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(message.len() + 12);
    body.extend_from_slice(b"{\"error\":\"");
    for c in message.chars() {
        match c {
            '"' => body.extend_from_slice(b"\\\""),
            '\\' => body.extend_from_slice(b"\\\\"),
            c if c.is_control() => body.push(b' '),
            c => {
                let mut utf8 = [0; 4];
                body.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    body.extend_from_slice(b"\"}");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_layout_byte_for_byte() {
        let mut out = Vec::new();
        write(
            &mut out,
            Status::OK,
            JSON,
            &[],
            br#"{"_de67f":null,"actions":[]}"#,
        );
        let expected = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 28\r\nContent-Type: application/json ;charset=UTF-8\r\n\r\n{\"_de67f\":null,\"actions\":[]}";
        assert_eq!(String::from_utf8_lossy(&out), expected);
        assert_eq!(out.len(), head_len(Status::OK, JSON, 28) + 28);
    }

    #[test]
    fn errors_are_escaped_json() {
        let mut out = Vec::new();
        error(&mut out, Status(400), "bad \"x\" \\ \n");
        assert!(
            out.ends_with(br#"{"error":"bad \"x\" \\  "}"#),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn head_length_is_exact_for_every_status() {
        for code in [200, 201, 400, 401, 404, 408, 413, 431, 500, 503] {
            for body_len in [0, 9, 10, 999, 1000, 1499] {
                let mut out = Vec::new();
                write(&mut out, Status(code), JSON, &[], &vec![b'x'; body_len]);
                assert_eq!(
                    out.len(),
                    head_len(Status(code), JSON, body_len) + body_len,
                    "{code} {body_len}"
                );
                assert!(!String::from_utf8_lossy(&out[..out.len() - body_len]).contains("true"));
            }
        }
    }
}
