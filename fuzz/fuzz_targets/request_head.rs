//! `essensys_legacy_http::request`: the head scanner and parser, driven the way the port-80
//! server's `read_and_answer` drives them.
//!
//! Input: one byte that picks how the bytes arrive (0: all at once; else a reproducible run of
//! chunk sizes, from single bytes to 16 KiB reads), then the bytes the peer sends. The server
//! reads at most `MAX_HEAD + 1` bytes while looking for the head's end, feeds what it has to a
//! `HeadScan` after each read, parses `buf[..head_len.min(buf.len())]`, then takes the body as
//! `buf[head.len..(head.len + content_length).min(buf.len())]` and reads the rest.
//!
//! Checked: nothing panics; the scanner, fed in any chunks, finds the end `head_end` finds on
//! the whole input; the slices the server takes are in bounds; the head parsed from the read
//! buffer is the one parsed from the whole input (so chunking never changes the outcome);
//! `head.len <= input.len()`, `head.len <= MAX_HEAD`, `content_length <= MAX_BODY`; the method is
//! uppercase ASCII, the target starts with `/`; at most `MAX_HEADERS` headers, trimmed, borrowed
//! from the head; a kept `Content-Length` says the parsed length; and the body the server ends
//! with is exactly the `content_length` bytes after the head.

#![no_main]

use essensys_legacy_http::request::{
    head_end, parse_head, Head, HeadScan, RequestError, MAX_BODY, MAX_HEAD, MAX_HEADERS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pattern, stream)) = data.split_first() else {
        return;
    };
    check(stream, Chunks::new(pattern));
});

/// The sizes of successive reads.
struct Chunks {
    state: u64,
    max: usize,
}

impl Chunks {
    fn new(pattern: u8) -> Self {
        let max = match pattern >> 6 {
            _ if pattern == 0 => usize::MAX,
            0 => 1,
            1 => 7,
            2 => 100,
            _ => 3000,
        };
        Self {
            state: u64::from(pattern) | 0x9e37_79b9_0000_0000,
            max,
        }
    }

    fn next(&mut self) -> usize {
        if self.max == usize::MAX {
            return usize::MAX;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        1 + (self.state % self.max as u64) as usize
    }
}

/// What the peer sent, read as the server reads a socket.
struct Peer<'a> {
    stream: &'a [u8],
    at: usize,
    chunks: Chunks,
}

impl Peer<'_> {
    /// The server's `read_some`: at most `limit - buf.len()` bytes, at most 16 KiB, at most one
    /// chunk; 0 at the end of the stream or when `buf` is full.
    fn read_some(&mut self, buf: &mut Vec<u8>, limit: usize) -> usize {
        let room = limit.saturating_sub(buf.len());
        let n = room
            .min(16 * 1024)
            .min(self.chunks.next())
            .min(self.stream.len() - self.at);
        buf.extend_from_slice(&self.stream[self.at..self.at + n]);
        self.at += n;
        n
    }
}

fn check(stream: &[u8], chunks: Chunks) {
    let mut peer = Peer {
        stream,
        at: 0,
        chunks,
    };
    let whole_end = head_end(stream);

    // The head loop of `read_and_answer`.
    let mut buf = Vec::new();
    let mut scan = HeadScan::default();
    let (head_len, found) = loop {
        if let Some(len) = scan.feed(&buf) {
            break (len, true);
        }
        if buf.len() > MAX_HEAD {
            break (buf.len(), false);
        }
        if peer.read_some(&mut buf, MAX_HEAD + 1) == 0 {
            // Closed before a whole head arrived: the server answers nothing.
            assert_eq!(peer.at, stream.len());
            assert_eq!(whole_end, None);
            assert_eq!(parse_head(stream), Ok(None));
            return;
        }
    };
    assert!(buf.len() <= MAX_HEAD + 1);
    assert!(
        head_len <= buf.len(),
        "head_len {head_len} > {} read",
        buf.len()
    );
    if found {
        assert_eq!(
            whole_end,
            Some(head_len),
            "chunked scan and head_end disagree"
        );
        assert_eq!(head_end(&buf), Some(head_len));
    } else {
        assert!(whole_end.is_none_or(|end| end > MAX_HEAD));
    }

    let parsed = parse_head(&buf[..head_len.min(buf.len())]);
    // The read buffer gives what the whole input gives: the parser only looks at the head.
    assert_eq!(
        parsed,
        parse_head(stream),
        "buffer and whole input disagree"
    );
    let head = match parsed {
        Ok(Some(head)) => head,
        Ok(None) => panic!("a head end was found ({head_len}) but parse_head wants more"),
        Err(error) => {
            if !found || head_len > MAX_HEAD {
                assert_eq!(error, RequestError::HeadTooLarge);
            }
            return;
        }
    };
    assert!(found, "a head parsed without its end");
    check_head(&buf, &head, head_len);
    assert!(head.len <= stream.len());

    // The body, as the server slices and then reads it.
    let wanted = head.len + head.content_length;
    let mut body = buf
        .get(head.len..wanted.min(buf.len()))
        .expect("the server's body slice is in bounds")
        .to_vec();
    assert!(body.len() <= head.content_length);
    while body.len() < head.content_length {
        if peer.read_some(&mut body, head.content_length) == 0 {
            // Closed mid-body.
            assert!(stream.len() < wanted);
            return;
        }
    }
    assert_eq!(body.len(), head.content_length);
    assert_eq!(
        body,
        stream[head.len..wanted],
        "the body is not the bytes after the head"
    );
}

fn check_head(buf: &[u8], head: &Head<'_>, head_len: usize) {
    assert_eq!(head.len, head_len);
    assert!(head.len <= MAX_HEAD);
    assert!(head.content_length <= MAX_BODY);
    assert!(!head.method.is_empty());
    assert!(
        head.method.bytes().all(|b| b.is_ascii_uppercase()),
        "method {:?}",
        head.method
    );
    assert!(head.target.starts_with('/'), "target {:?}", head.target);
    assert!(!head.target.bytes().any(|b| b.is_ascii_whitespace()));
    assert!(head.target.starts_with(head.path()));
    assert!(!head.path().contains('?'));
    let region = &buf[..head.len];
    within(region, head.method);
    within(region, head.target);
    assert!(head.headers.len() <= MAX_HEADERS);
    for (name, value) in &head.headers {
        within(region, name);
        within(region, value);
        assert_eq!(*name, name.trim());
        assert_eq!(*value, value.trim());
        assert!(!name.contains(':') && !name.contains('\n') && !value.contains('\n'));
        assert!(!name.eq_ignore_ascii_case("transfer-encoding"));
        if name.eq_ignore_ascii_case("content-length") {
            assert_eq!(value.parse::<usize>(), Ok(head.content_length), "{value:?}");
        }
    }
}

/// `text` is borrowed from `region`.
fn within(region: &[u8], text: &str) {
    let start = region.as_ptr() as usize;
    let at = text.as_ptr() as usize;
    assert!(
        text.is_empty() || (at >= start && at + text.len() <= start + region.len()),
        "{text:?} is not borrowed from the head"
    );
}
