//! The exact bytes of the requests the firmware sends (`legacy-protocol.md` §2).
//!
//! # Format
//! ```text
//! GET /api/serverinfos HTTP/1.1 \r\n          <- note the space before CRLF on both GETs
//! Accept: application/json,application/xhtml1+xml,application/xml;q=0.9,*/*;q=0.8\r\n
//! host: mon.essensys.fr\r\n                   <- lower-case "host"
//! Cache-Control: max-age=0\r\n
//! Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.3\r\n
//! Authorization: Basic <44-char matricule>\r\n
//! \r\n
//! ```
//! The two POSTs (`mystatus`, `done`) have no space before CRLF, add
//! `Content-type: application/json ;charset=UTF-8` after `Accept` and `Content-Length` before
//! `Authorization`. Without a matricule (a box with no key, for tests) the `Authorization` line
//! is left out and the blank line still ends the head.

/// `Accept` line (A in the protocol doc).
const ACCEPT: &[u8] =
    b"Accept: application/json,application/xhtml1+xml,application/xml;q=0.9,*/*;q=0.8\r\n";
/// `host` line (H), lower-case name.
const HOST: &[u8] = b"host: mon.essensys.fr\r\n";
/// `Cache-Control` line (C).
const CACHE: &[u8] = b"Cache-Control: max-age=0\r\n";
/// `Accept-Charset` line (S).
const CHARSET: &[u8] = b"Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.3\r\n";
/// `Content-type` line (T): lower-case "type", a space before ';'.
const CONTENT_TYPE: &[u8] = b"Content-type: application/json ;charset=UTF-8\r\n";

/// `GET /api/serverinfos`: what the box asks first in every cycle.
pub fn serverinfos(matricule: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(320);
    out.extend_from_slice(b"GET /api/serverinfos HTTP/1.1 \r\n");
    common_get(&mut out, matricule);
    out
}

/// `GET /api/myactions`: the third step of a cycle.
pub fn myactions(matricule: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(320);
    out.extend_from_slice(b"GET /api/myactions HTTP/1.1 \r\n");
    common_get(&mut out, matricule);
    out
}

/// `POST /api/mystatus` carrying `body` (see [`status_body`]).
pub fn mystatus(matricule: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(400 + body.len());
    out.extend_from_slice(b"POST /api/mystatus HTTP/1.1\r\n");
    post_head(&mut out, body.len(), matricule);
    out.extend_from_slice(body);
    out
}

/// `POST /api/done/<guid>`: the ack of one action. The guid is copied verbatim, as the firmware
/// does (no encoding).
pub fn done(matricule: Option<&str>, guid: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(400);
    out.extend_from_slice(b"POST /api/done/");
    out.extend_from_slice(guid.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    post_head(&mut out, 0, matricule);
    out
}

/// One item of a `mystatus` body: an index and the value text the box reports for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusItem {
    /// The index as asked for by `serverinfos` (may be ≥ 953: the box then reports `"0"`).
    pub index: u16,
    /// The value text: decimal, or an 8-character LSB-first binary string for 11/920/921.
    pub value: String,
}

/// The `mystatus` body:
///
/// ```text
/// {"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"17"},{k:11,v:"00000000"}]}
/// ```
/// Outer keys quoted, item keys **not**; values always quoted.
pub fn status_body(version: &str, items: &[StatusItem]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + items.len() * 21);
    out.extend_from_slice(b"{\"version\":\"");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\",\"ek\":[");
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{k:");
        out.extend_from_slice(item.index.to_string().as_bytes());
        out.extend_from_slice(b",v:\"");
        out.extend_from_slice(item.value.as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"]}");
    out
}

/// Head lines shared by the two GETs, after the request line.
fn common_get(out: &mut Vec<u8>, matricule: Option<&str>) {
    out.extend_from_slice(ACCEPT);
    out.extend_from_slice(HOST);
    out.extend_from_slice(CACHE);
    out.extend_from_slice(CHARSET);
    authorization(out, matricule);
}

/// Head lines shared by the two POSTs, after the request line.
fn post_head(out: &mut Vec<u8>, content_length: usize, matricule: Option<&str>) {
    out.extend_from_slice(ACCEPT);
    out.extend_from_slice(CONTENT_TYPE);
    out.extend_from_slice(HOST);
    out.extend_from_slice(CACHE);
    out.extend_from_slice(CHARSET);
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(content_length.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    authorization(out, matricule);
}

/// The `Authorization` line if any, then the blank line that ends the head.
fn authorization(out: &mut Vec<u8>, matricule: Option<&str>) {
    if let Some(matricule) = matricule {
        out.extend_from_slice(b"Authorization: Basic ");
        out.extend_from_slice(matricule.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_leaves_out_the_authorization_line_only() {
        let request = serverinfos(None);
        assert!(request.ends_with(b"q=0.3\r\n\r\n"));
        assert!(!request.windows(13).any(|w| w == b"Authorization"));
        let with = done(Some("M"), "g");
        assert!(with.ends_with(b"Content-Length: 0\r\nAuthorization: Basic M\r\n\r\n"));
        assert!(with.starts_with(b"POST /api/done/g HTTP/1.1\r\n"));
    }

    #[test]
    fn empty_status_body() {
        assert_eq!(status_body("V37", &[]), b"{\"version\":\"V37\",\"ek\":[]}");
    }
}
