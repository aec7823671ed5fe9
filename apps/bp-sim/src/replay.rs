//! Replaying captured requests: each `*.http` file of a folder (sorted by name) is sent as-is
//! in one write, its reply read the firmware's way (one read of at most 1499 bytes, 1023 for a
//! `POST /api/done/` request), and compared with the sibling `NAME.reply` file when there is
//! one.
//!
//! Before comparing, both sides are masked: every GUID (8-4-4-4-12 hex digits) becomes
//! `<guid>`, a `Date:` header value becomes `<date>`, and with
//! [`ReplayOptions::mask_length`] a `Content-Length:` value becomes `<n>`. A reply that did not
//! fit in the one read (too long, or sent in pieces) fails the case even without a `.reply`.

use std::{
    fs, io,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use crate::{
    exchange::{exchange, ExchangeError, Reply, Timing},
    DONE_READ_LIMIT, READ_LIMIT,
};

/// The most lines of each side the diff compares.
const DIFF_LINES: usize = 2000;

/// How to replay.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// The server to send the requests to.
    pub server: SocketAddr,
    /// Timeouts of each request.
    pub timing: Timing,
    /// Also mask `Content-Length` values before comparing.
    pub mask_length: bool,
}

/// One captured request and the reply expected for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayCase {
    /// The file name without `.http`.
    pub name: String,
    /// The `*.http` file.
    pub path: PathBuf,
    /// Its bytes, sent as-is.
    pub request: Vec<u8>,
    /// The `NAME.reply` file's bytes, if there is one.
    pub expected: Option<Vec<u8>>,
}

impl ReplayCase {
    /// The read limit the firmware would use: 1023 for a `done` request, else 1499.
    pub fn read_limit(&self) -> usize {
        if self.request.starts_with(b"POST /api/done/") {
            DONE_READ_LIMIT
        } else {
            READ_LIMIT
        }
    }
}

/// How a case went.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// The case.
    pub case: ReplayCase,
    /// The reply, or why there was none.
    pub reply: Result<Reply, ExchangeError>,
    /// The diff against the expected reply, if it differs (after masking).
    pub diff: Option<String>,
}

impl ReplayOutcome {
    /// Whether the case passed: a reply that fit in the one read and, if a `.reply` exists,
    /// matches it after masking.
    pub fn passed(&self) -> bool {
        match &self.reply {
            Ok(reply) => reply.later == 0 && self.diff.is_none(),
            Err(_) => false,
        }
    }
}

/// Reads the `*.http` files of `dir`, sorted by name, with their `.reply` siblings.
///
/// # Errors
/// The I/O error of the folder or of a file that cannot be read.
pub fn load_cases(dir: &Path) -> io::Result<Vec<ReplayCase>> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "http"))
        .collect();
    paths.sort();
    let mut cases = Vec::with_capacity(paths.len());
    for path in paths {
        let request = fs::read(&path)?;
        let expected_path = path.with_extension("reply");
        let expected = match fs::read(&expected_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        cases.push(ReplayCase {
            name,
            path,
            request,
            expected,
        });
    }
    Ok(cases)
}

/// Sends every case in order, one connection each, and judges the replies.
pub async fn replay(cases: Vec<ReplayCase>, options: &ReplayOptions) -> Vec<ReplayOutcome> {
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in cases {
        let reply = exchange(
            options.server,
            &case.request,
            case.read_limit(),
            &options.timing,
        )
        .await;
        let diff = match (&reply, &case.expected) {
            (Ok(reply), Some(expected)) => diff(
                &render(&mask(expected, options.mask_length)),
                &render(&mask(&reply.bytes, options.mask_length)),
            ),
            _ => None,
        };
        outcomes.push(ReplayOutcome { case, reply, diff });
    }
    outcomes
}

/// Masks GUIDs, `Date:` values and (if asked) `Content-Length:` values.
pub fn mask(bytes: &[u8], mask_length: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        if line_start {
            if let Some(skip) = masked_header(&bytes[i..], b"date:", b"<date>", &mut out) {
                i += skip;
                continue;
            }
            if mask_length {
                if let Some(skip) = masked_header(&bytes[i..], b"content-length:", b"<n>", &mut out)
                {
                    i += skip;
                    continue;
                }
            }
        }
        if is_guid_at(bytes, i) {
            out.extend_from_slice(b"<guid>");
            i += 36;
            line_start = false;
            continue;
        }
        line_start = bytes[i] == b'\n';
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// If `rest` starts with header `name` (any case), writes the name, one space and `masked`, and
/// returns how many bytes of `rest` that replaces (up to the line end).
fn masked_header(rest: &[u8], name: &[u8], masked: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let head = rest.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    out.extend_from_slice(head);
    out.push(b' ');
    out.extend_from_slice(masked);
    Some(end)
}

/// Whether an 8-4-4-4-12 hex GUID starts at `i`, not glued to more hex digits.
fn is_guid_at(bytes: &[u8], i: usize) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    if i > 0 && bytes[i - 1].is_ascii_hexdigit() {
        return false;
    }
    let mut at = i;
    for (n, len) in GROUPS.iter().enumerate() {
        if n > 0 {
            if bytes.get(at) != Some(&b'-') {
                return false;
            }
            at += 1;
        }
        match bytes.get(at..at + len) {
            Some(group) if group.iter().all(u8::is_ascii_hexdigit) => at += len,
            _ => return false,
        }
    }
    !bytes.get(at).is_some_and(u8::is_ascii_hexdigit)
}

/// Bytes as readable lines: split at `\n`; `\r`, tabs, control and non-ASCII bytes escaped
/// (`\r`, `\t`, `\xNN`), everything else as is.
pub fn render(bytes: &[u8]) -> String {
    bytes
        .split(|&b| b == b'\n')
        .map(crate::judge::shown)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A line diff (`  ` same, `- ` expected only, `+ ` actual only), or `None` if equal.
pub fn diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let a: Vec<&str> = expected.split('\n').take(DIFF_LINES).collect();
    let b: Vec<&str> = actual.split('\n').take(DIFF_LINES).collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::from("--- expected\n+++ actual\n");
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    if let Some(at) = expected
        .bytes()
        .zip(actual.bytes())
        .position(|(x, y)| x != y)
        .or(Some(expected.len().min(actual.len())))
    {
        out.push_str(&format!(
            "(first difference at character {at} of the rendered text)\n"
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_guids_dates_and_optionally_lengths() {
        let reply = b"HTTP/1.1 200 OK\r\nDate: Tue, 10 Dec 2013 05:55:54 GMT\r\nContent-Length: 99\r\n\r\n{\"guid\":\"806b4fc7-a820-4c49-9ae8-24ced8f6770f\"}";
        let masked = mask(reply, false);
        assert_eq!(
            String::from_utf8_lossy(&masked),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 99\r\n\r\n{\"guid\":\"<guid>\"}"
        );
        let masked = mask(reply, true);
        assert!(String::from_utf8_lossy(&masked).contains("Content-Length: <n>\r\n"));
        // Not a GUID: glued to more hex, or a group too short.
        assert_eq!(
            mask(b"a806b4fc7-a820-4c49-9ae8-24ced8f6770f", false),
            b"a806b4fc7-a820-4c49-9ae8-24ced8f6770f"
        );
        assert_eq!(
            mask(b"806b4fc7-a820-4c49-9ae8-24ced8f6770", false).len(),
            35
        );
    }

    #[test]
    fn diff_shows_changed_lines() {
        assert_eq!(diff("a\nb", "a\nb"), None);
        let d = diff("a\\r\nb\nc", "a\\r\nB\nc").expect("differs");
        assert!(d.contains("  a\\r\n- b\n+ B\n  c\n"), "{d}");
        assert!(d.contains("first difference at character 4"));
    }
}
