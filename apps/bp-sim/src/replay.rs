//! Replaying captured requests: each `*.http` file of a folder (sorted by name, so a case may
//! rely on the state earlier cases built) is sent as-is in one write, its reply read the
//! firmware's way (one read of at most 1499 bytes, 1023 for a `POST /api/done/` request), and
//! compared with the sibling `NAME.reply` file.
//!
//! The comparison is **mandatory**: a case without `NAME.reply` fails, and so does a folder
//! without any `*.http` case ("compared nothing"). With [`ReplayOptions::record`] the replies the
//! server gave are written into the missing `NAME.reply` files for a maintainer to review; a
//! recorded case is never a pass.
//!
//! # Expected replies
//! `NAME.reply` holds the raw reply bytes, compared **byte for byte**, except for explicit
//! placeholders standing for what legitimately varies between runs. Each placeholder stands for
//! a field of a **fixed width**, so the length of every matching reply is known and the
//! `Content-Length` written in the file is checked like any other byte:
//!
//! | placeholder | matches exactly |
//! |---|---|
//! | `{{guid}}` | 36 bytes: a lower-case 8-4-4-4-12 hex GUID, e.g. `806b4fc7-a820-4c49-9ae8-24ced8f6770f` (the backend's random v4 action guids) |
//! | `{{date}}` | 29 bytes: an HTTP date `Tue, 10 Dec 2013 05:55:54 GMT` (a `Date:` header, written by a proxy; our server writes none) |
//!
//! Any other `{{` in an expected file is an error (a mistyped placeholder must not silently
//! become literal text). When an expected file has a `Content-Length` header, its value must
//! equal the length of the file's body with each placeholder counted at its width, else the
//! file is refused before anything is compared. Recording writes the reply with every
//! lower-case GUID replaced by `{{guid}}` and every `Date:` header value of the HTTP-date shape
//! by `{{date}}`.
//!
//! A reply that did not fit in the one read (too long, or sent in pieces), or no reply at all,
//! fails the case whatever the expected file says, and is never recorded.

use std::{
    fmt, fs, io,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use thiserror::Error;

use crate::{
    exchange::{exchange, ExchangeError, Reply, Timing},
    DONE_READ_LIMIT, READ_LIMIT,
};

/// The most lines of each side the diff compares.
const DIFF_LINES: usize = 2000;

/// The placeholder for a GUID in an expected reply.
pub const GUID_PLACEHOLDER: &str = "{{guid}}";
/// The placeholder for an HTTP date in an expected reply.
pub const DATE_PLACEHOLDER: &str = "{{date}}";
/// The width of what `{{guid}}` matches: `8-4-4-4-12` hex digits.
pub const GUID_WIDTH: usize = 36;
/// The width of what `{{date}}` matches: `Tue, 10 Dec 2013 05:55:54 GMT`.
pub const DATE_WIDTH: usize = 29;

/// How to replay.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// The server to send the requests to.
    pub server: SocketAddr,
    /// Timeouts of each request.
    pub timing: Timing,
    /// Write the server's reply into each missing `NAME.reply` (GUIDs and dates masked) instead
    /// of failing it as missing. A recorded case still does not pass.
    pub record: bool,
}

impl ReplayOptions {
    /// Compare only (no recording), with the default timeouts.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            server,
            timing: Timing::default(),
            record: false,
        }
    }
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

    /// Where its expected reply is (or is to be recorded): `NAME.reply` beside `NAME.http`.
    pub fn reply_path(&self) -> PathBuf {
        self.path.with_extension("reply")
    }
}

/// A piece of an expected reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'a> {
    /// Bytes that must be there as they are.
    Literal(&'a [u8]),
    /// `{{guid}}`.
    Guid,
    /// `{{date}}`.
    Date,
}

impl Piece<'_> {
    /// How many reply bytes the piece stands for.
    fn width(&self) -> usize {
        match self {
            Piece::Literal(bytes) => bytes.len(),
            Piece::Guid => GUID_WIDTH,
            Piece::Date => DATE_WIDTH,
        }
    }
}

/// Why an expected reply file cannot be used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    /// A `{{` that does not start `{{guid}}` or `{{date}}`.
    #[error(
        "unknown placeholder {found:?} at byte {at} (the placeholders are {{{{guid}}}} and {{{{date}}}})"
    )]
    UnknownPlaceholder {
        /// Where it starts.
        at: usize,
        /// What follows the `{{` (a few characters).
        found: String,
    },
    /// A `Content-Length` header whose value is not plain digits.
    #[error("its Content-Length value {0:?} is not a number")]
    BadContentLength(String),
    /// A `Content-Length` header that disagrees with the body.
    #[error(
        "its Content-Length says {declared} but its body is {actual} bytes (each placeholder counted at its width)"
    )]
    ContentLength {
        /// What the header says.
        declared: usize,
        /// The body's length.
        actual: usize,
    },
}

/// An expected reply, parsed: literal bytes and fixed-width placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    pieces: Vec<Piece<'a>>,
}

impl<'a> Expected<'a> {
    /// Parses an expected reply and checks its `Content-Length` against its body.
    ///
    /// # Errors
    /// A [`TemplateError`] for an unknown placeholder or a wrong or malformed `Content-Length`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, TemplateError> {
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i + 1 < bytes.len() {
            if &bytes[i..i + 2] != b"{{" {
                i += 1;
                continue;
            }
            let rest = &bytes[i..];
            let piece = if rest.starts_with(GUID_PLACEHOLDER.as_bytes()) {
                Piece::Guid
            } else if rest.starts_with(DATE_PLACEHOLDER.as_bytes()) {
                Piece::Date
            } else {
                return Err(TemplateError::UnknownPlaceholder {
                    at: i,
                    found: String::from_utf8_lossy(&rest[..rest.len().min(12)]).into_owned(),
                });
            };
            if start < i {
                pieces.push(Piece::Literal(&bytes[start..i]));
            }
            pieces.push(piece);
            i += GUID_PLACEHOLDER.len(); // both placeholders are 8 bytes
            start = i;
        }
        if start < bytes.len() {
            pieces.push(Piece::Literal(&bytes[start..]));
        }
        let expected = Self { pieces };
        expected.check_content_length()?;
        Ok(expected)
    }

    /// The length every matching reply has.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(Piece::width).sum()
    }

    /// Whether it expects an empty reply.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `reply` is exactly this, each placeholder matched by a field of its shape.
    pub fn matches(&self, reply: &[u8]) -> bool {
        if reply.len() != self.len() {
            return false;
        }
        let mut at = 0;
        for piece in &self.pieces {
            let field = &reply[at..at + piece.width()];
            let ok = match piece {
                Piece::Literal(bytes) => field == *bytes,
                Piece::Guid => is_guid(field),
                Piece::Date => is_http_date(field),
            };
            if !ok {
                return false;
            }
            at += piece.width();
        }
        true
    }

    /// Checks every `Content-Length` header of the head against the body's length. Without a
    /// blank line (no body) or a `Content-Length` header there is nothing to check.
    fn check_content_length(&self) -> Result<(), TemplateError> {
        // The head and body as bytes with every placeholder of the width it stands for; a
        // placeholder never contains CR or LF, so line structure is kept.
        let mut flat = Vec::with_capacity(self.len());
        for piece in &self.pieces {
            match piece {
                Piece::Literal(bytes) => flat.extend_from_slice(bytes),
                other => flat.extend(std::iter::repeat_n(b'#', other.width())),
            }
        }
        let Some(head_end) = flat.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(());
        };
        let body = flat.len() - (head_end + 4);
        for line in flat[..head_end].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let name = b"content-length:";
            if line.len() < name.len() || !line[..name.len()].eq_ignore_ascii_case(name) {
                continue;
            }
            let value = String::from_utf8_lossy(&line[name.len()..])
                .trim()
                .to_string();
            let declared: usize = value
                .parse()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(TemplateError::BadContentLength(value))?;
            if declared != body {
                return Err(TemplateError::ContentLength {
                    declared,
                    actual: body,
                });
            }
        }
        Ok(())
    }
}

/// Whether `field` is exactly a lower-case 8-4-4-4-12 hex GUID.
fn is_guid(field: &[u8]) -> bool {
    field.len() == GUID_WIDTH
        && field.iter().enumerate().all(|(i, &b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
}

/// Whether `field` is exactly an HTTP date of the fixed form `Tue, 10 Dec 2013 05:55:54 GMT`.
fn is_http_date(field: &[u8]) -> bool {
    const SHAPE: &[u8; DATE_WIDTH] = b"Aaa, 00 Aaa 0000 00:00:00 GMT";
    field.len() == DATE_WIDTH
        && field.iter().zip(SHAPE).all(|(&b, &s)| match s {
            b'A' => b.is_ascii_uppercase(),
            b'a' => b.is_ascii_lowercase(),
            b'0' => b.is_ascii_digit(),
            _ => b == s,
        })
}

/// A reply as an expected file: every lower-case GUID becomes `{{guid}}`, every `Date:` header
/// value of the HTTP-date shape `{{date}}`; everything else as it came. What `--record` writes.
pub fn to_expected(reply: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(reply.len());
    let mut line_start = true;
    let mut i = 0;
    while i < reply.len() {
        if line_start {
            let name = b"date: ";
            if reply.len() >= i + name.len() + DATE_WIDTH
                && reply[i..i + name.len()].eq_ignore_ascii_case(name)
                && is_http_date(&reply[i + name.len()..i + name.len() + DATE_WIDTH])
            {
                out.extend_from_slice(&reply[i..i + name.len()]);
                out.extend_from_slice(DATE_PLACEHOLDER.as_bytes());
                i += name.len() + DATE_WIDTH;
                line_start = false;
                continue;
            }
        }
        if (i == 0 || !reply[i - 1].is_ascii_hexdigit())
            && reply.get(i..i + GUID_WIDTH).is_some_and(is_guid)
            && !reply.get(i + GUID_WIDTH).is_some_and(u8::is_ascii_hexdigit)
        {
            out.extend_from_slice(GUID_PLACEHOLDER.as_bytes());
            i += GUID_WIDTH;
            line_start = false;
            continue;
        }
        line_start = reply[i] == b'\n';
        out.push(reply[i]);
        i += 1;
    }
    out
}

/// How a case went.
#[derive(Debug)]
pub enum Verdict {
    /// The reply fit in the one read and matches `NAME.reply`.
    Passed,
    /// The reply differs from `NAME.reply`: the diff, expected file against the reply masked
    /// the way recording would mask it.
    Mismatch(String),
    /// There is no `NAME.reply` (and no recording was asked for).
    Missing,
    /// `NAME.reply` was missing and the server's reply was written into it, to be reviewed.
    Recorded,
    /// `NAME.reply` was missing and could not be written.
    RecordFailed(String),
    /// `NAME.reply` is not a usable expected reply.
    BadExpected(TemplateError),
    /// The server sent more than the firmware reads: this many more bytes.
    TooLong(usize),
    /// The reply came in pieces: this many bytes after the one read would be lost.
    Split(usize),
    /// No reply.
    NoReply,
}

impl Verdict {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed)
    }
}

/// Judges a reply against the expected file (`None`: there is none). Pure: recording is
/// [`replay`]'s business.
pub fn judge(expected: Option<&[u8]>, reply: &Reply) -> Verdict {
    if reply.too_long() {
        return Verdict::TooLong(reply.later);
    }
    if reply.split() {
        return Verdict::Split(reply.later);
    }
    let Some(expected_bytes) = expected else {
        return Verdict::Missing;
    };
    let template = match Expected::parse(expected_bytes) {
        Ok(template) => template,
        Err(error) => return Verdict::BadExpected(error),
    };
    if template.matches(&reply.bytes) {
        return Verdict::Passed;
    }
    let shown = render(expected_bytes);
    let diff = diff(&shown, &render(&to_expected(&reply.bytes)))
        .or_else(|| diff(&shown, &render(&reply.bytes)))
        .unwrap_or_else(|| {
            format!(
                "the reply reads like the expected file but does not match it ({} bytes, {} expected)\n",
                reply.bytes.len(),
                template.len()
            )
        });
    Verdict::Mismatch(diff)
}

/// How a case went: the case, the reply or why there was none, and the verdict.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// The case.
    pub case: ReplayCase,
    /// The reply, or why there was none.
    pub reply: Result<Reply, ExchangeError>,
    /// The verdict.
    pub verdict: Verdict,
}

impl ReplayOutcome {
    /// Whether the case passed: a reply that fit in the one read and matches `NAME.reply`.
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }

    /// One line saying how the case went, naming the files involved.
    pub fn describe(&self) -> String {
        let file = self.case.reply_path();
        let file = file.display();
        match &self.verdict {
            Verdict::Passed => format!("-- matches {file}"),
            Verdict::Mismatch(diff) => format!("!! MISMATCH with {file}\n{diff}"),
            Verdict::Missing => format!(
                "!! MISSING {file}: every case needs its expected reply. Record it with \
                 `bp-sim replay DIR --server ADDR --record` against a trusted server, check it \
                 against legacy-protocol.md and commit it"
            ),
            Verdict::Recorded => {
                format!("!! RECORDED {file} from this reply: review it and commit it (not a pass)")
            }
            Verdict::RecordFailed(error) => format!("!! CANNOT RECORD {file}: {error}"),
            Verdict::BadExpected(error) => format!("!! BAD EXPECTED FILE {file}: {error}"),
            Verdict::TooLong(later) => format!(
                "!! TOO LONG: the server sent {later} more bytes than the {} the firmware reads",
                self.case.read_limit()
            ),
            Verdict::Split(later) => format!(
                "!! SPLIT: {later} more bytes came after the one read; the firmware would lose them"
            ),
            Verdict::NoReply => match &self.reply {
                Err(error) => format!("!! NO REPLY: {error}"),
                Ok(_) => "!! NO REPLY".to_string(),
            },
        }
    }
}

/// The counts of a replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cases replayed.
    pub cases: usize,
    /// Cases whose reply matched their expected file.
    pub passed: usize,
    /// Cases that failed (missing, mismatched, bad expected file, no reply…), recorded ones
    /// excepted.
    pub failed: usize,
    /// Cases whose expected file was recorded in this run (to be reviewed; not passes).
    pub recorded: usize,
}

impl Summary {
    /// Counts the outcomes.
    pub fn of(outcomes: &[ReplayOutcome]) -> Self {
        let mut summary = Self {
            cases: outcomes.len(),
            ..Self::default()
        };
        for outcome in outcomes {
            match outcome.verdict {
                Verdict::Passed => summary.passed += 1,
                Verdict::Recorded => summary.recorded += 1,
                _ => summary.failed += 1,
            }
        }
        summary
    }

    /// Whether the replay succeeded: at least one case, every one compared and matching.
    pub fn ok(&self) -> bool {
        self.cases > 0 && self.passed == self.cases
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cases == 0 {
            return write!(f, "replay: compared nothing (no *.http case)");
        }
        write!(
            f,
            "replay: {} cases, {} passed, {} failed",
            self.cases, self.passed, self.failed
        )?;
        if self.recorded > 0 {
            write!(
                f,
                ", {} recorded: review the new .reply files against legacy-protocol.md and \
                 commit them, then replay again (a recorded case is not a pass)",
                self.recorded
            )?;
        }
        Ok(())
    }
}

/// Why a folder cannot be replayed.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// The folder or a file of it cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The folder holds no `*.http` case.
    #[error("compared nothing: no *.http case in {0}")]
    NoCases(PathBuf),
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

/// Loads the cases of `dir` and replays them (see [`replay`]).
///
/// # Errors
/// [`ReplayError::Io`] if the folder cannot be read, [`ReplayError::NoCases`] if it holds no
/// `*.http` case: a replay that compared nothing is a failure, never a pass.
pub async fn replay_dir(
    dir: &Path,
    options: &ReplayOptions,
) -> Result<Vec<ReplayOutcome>, ReplayError> {
    let cases = load_cases(dir).map_err(|source| ReplayError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if cases.is_empty() {
        return Err(ReplayError::NoCases(dir.to_path_buf()));
    }
    Ok(replay(cases, options).await)
}

/// Sends every case in order, one connection each, and judges the replies. With
/// [`ReplayOptions::record`], a case without an expected file that got a whole reply has it
/// written to `NAME.reply` (see [`to_expected`]) and is [`Verdict::Recorded`].
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
        let verdict = match &reply {
            Err(_) => Verdict::NoReply,
            Ok(reply) => match judge(case.expected.as_deref(), reply) {
                Verdict::Missing if options.record => record(&case, reply),
                verdict => verdict,
            },
        };
        outcomes.push(ReplayOutcome {
            case,
            reply,
            verdict,
        });
    }
    outcomes
}

/// Writes `reply` as the expected file of `case`, never over an existing file.
fn record(case: &ReplayCase, reply: &Reply) -> Verdict {
    let expected = to_expected(&reply.bytes);
    if let Err(error) = Expected::parse(&expected) {
        return Verdict::RecordFailed(format!(
            "the reply would not make a valid expected file: {error}"
        ));
    }
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(case.reply_path())
        .and_then(|mut file| io::Write::write_all(&mut file, &expected));
    match written {
        Ok(()) => Verdict::Recorded,
        Err(error) => Verdict::RecordFailed(error.to_string()),
    }
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
    use std::time::Duration;

    use super::*;

    const GUID: &str = "806b4fc7-a820-4c49-9ae8-24ced8f6770f";

    /// A reply in our server's layout.
    fn http(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\nContent-Type: application/json ;charset=UTF-8\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn reply(bytes: &[u8]) -> Reply {
        Reply {
            bytes: bytes.to_vec(),
            later: 0,
            elapsed: Duration::ZERO,
            limit: READ_LIMIT,
        }
    }

    fn action_body(guid: &str) -> String {
        format!(
            r#"{{"_de67f":null,"actions":[{{"guid":"{guid}","params":[{{"k":349,"v":"17"}}]}}]}}"#
        )
    }

    /// The expected file for an action reply: the real Content-Length, `{{guid}}` in the body.
    fn masked_action_reply() -> Vec<u8> {
        let real = http("200 OK", &action_body(GUID));
        to_expected(&real)
    }

    /// A fresh folder under the system temp dir.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bp-sim-unit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn a_missing_reply_file_fails_and_says_how_to_create_it() {
        let verdict = judge(None, &reply(&http("201 Created", "")));
        assert!(matches!(verdict, Verdict::Missing), "{verdict:?}");
        assert!(!verdict.passed());
        let outcome = ReplayOutcome {
            case: ReplayCase {
                name: "done".into(),
                path: PathBuf::from("fixtures/box/done.http"),
                request: b"POST /api/done/x HTTP/1.1\r\n\r\n".to_vec(),
                expected: None,
            },
            reply: Ok(reply(&http("201 Created", ""))),
            verdict,
        };
        let text = outcome.describe();
        assert!(text.contains("MISSING fixtures/box/done.reply"), "{text}");
        assert!(text.contains("--record"), "{text}");
        let summary = Summary::of(&[outcome]);
        assert_eq!((summary.passed, summary.failed), (0, 1));
        assert!(!summary.ok());
    }

    #[test]
    fn a_recorded_case_is_not_a_pass() {
        let outcome = ReplayOutcome {
            case: ReplayCase {
                name: "a".into(),
                path: PathBuf::from("a.http"),
                request: Vec::new(),
                expected: None,
            },
            reply: Ok(reply(b"x")),
            verdict: Verdict::Recorded,
        };
        let summary = Summary::of(&[outcome]);
        assert_eq!(
            (summary.passed, summary.failed, summary.recorded),
            (0, 0, 1)
        );
        assert!(!summary.ok());
        assert!(summary.to_string().contains("0 passed"), "{summary}");
        assert!(summary.to_string().contains("review"), "{summary}");
    }

    #[tokio::test]
    async fn an_empty_folder_compares_nothing_and_fails() {
        let dir = temp_dir("empty");
        fs::write(dir.join("notes.txt"), "not a case").expect("write");
        fs::write(dir.join("orphan.reply"), http("201 Created", "")).expect("write");
        // Nothing is sent: the address is never connected to.
        let options = ReplayOptions::new("127.0.0.1:9".parse().expect("addr"));
        let error = replay_dir(&dir, &options).await.expect_err("no case");
        assert!(matches!(error, ReplayError::NoCases(_)), "{error}");
        assert!(error.to_string().starts_with("compared nothing"), "{error}");
        let summary = Summary::of(&[]);
        assert!(!summary.ok());
        assert_eq!(
            summary.to_string(),
            "replay: compared nothing (no *.http case)"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_masked_guid_matches_any_guid_of_its_shape_only() {
        let expected = masked_action_reply();
        let text = String::from_utf8_lossy(&expected).into_owned();
        assert!(text.contains(r#""guid":"{{guid}}""#), "{text}");
        assert!(!text.contains(GUID), "{text}");
        // The Content-Length stays the real reply's.
        assert!(text.contains(&format!("Content-Length: {}\r\n", action_body(GUID).len())));
        let other = "0f1e2d3c-4b5a-4968-8776-655443322110";
        assert!(judge(
            Some(&expected),
            &reply(&http("200 OK", &action_body(other)))
        )
        .passed());
        assert!(judge(Some(&expected), &reply(&http("200 OK", &action_body(GUID)))).passed());

        for wrong in [
            "806b4fc7-a820-4c49-9ae8-24ced8f6770", // a digit short (Content-Length too)
            "806b4fc7-a820-4c49-9ae8-24ced8f6770f0", // a digit more
            "806b4fc7a-820-4c49-9ae8-24ced8f6770f", // groups 9-3-4-4-12
            "806b4fc7-a820-4c49-9ae8-24ced8f6770g", // not hex
            "806B4FC7-A820-4C49-9AE8-24CED8F6770F", // upper case
            "806b4fc7_a820_4c49_9ae8_24ced8f6770f", // not dashes
        ] {
            let verdict = judge(
                Some(&expected),
                &reply(&http("200 OK", &action_body(wrong))),
            );
            assert!(
                matches!(verdict, Verdict::Mismatch(_)),
                "{wrong}: {verdict:?}"
            );
        }
        // Same length and shape but another Content-Length: the header is literal.
        let n = action_body(other).len();
        let lying = String::from_utf8_lossy(&http("200 OK", &action_body(other))).replace(
            &format!("Content-Length: {n}"),
            &format!("Content-Length: {}", n + 1),
        );
        assert_eq!(
            lying.len(),
            expected.len() - GUID_PLACEHOLDER.len() + GUID_WIDTH
        );
        assert!(!judge(Some(&expected), &reply(lying.as_bytes())).passed());
    }

    #[test]
    fn a_one_byte_difference_fails() {
        let good = http("200 OK", r#"{"_de67f":null,"actions":[]}"#);
        assert!(judge(Some(&good), &reply(&good)).passed());
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            let verdict = judge(Some(&good), &reply(&bad));
            assert!(
                matches!(verdict, Verdict::Mismatch(_)),
                "byte {at}: {verdict:?}"
            );
        }
        // One byte more or less.
        let mut longer = good.clone();
        longer.push(b' ');
        assert!(!judge(Some(&good), &reply(&longer)).passed());
        assert!(!judge(Some(&good), &reply(&good[..good.len() - 1])).passed());
        // The diff points at the line.
        let Verdict::Mismatch(d) =
            judge(Some(&http("201 Created", "")), &reply(&http("200 OK", "")))
        else {
            panic!("a mismatch");
        };
        assert!(
            d.contains("- HTTP/1.1 201 Created\\r\n+ HTTP/1.1 200 OK\\r\n"),
            "{d}"
        );
    }

    #[test]
    fn content_length_of_an_expected_file_must_fit_its_body() {
        let body = format!(r#"{{"guid":"{GUID_PLACEHOLDER}"}}"#); // 11 + 36 bytes once filled
        let ok = format!("HTTP/1.1 200 OK\r\nContent-Length: 47\r\n\r\n{body}");
        assert_eq!(
            Expected::parse(ok.as_bytes()).map(|e| e.len()),
            Ok(ok.len() - 8 + 36)
        );
        let wrong = format!("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{body}");
        assert_eq!(
            Expected::parse(wrong.as_bytes()),
            Err(TemplateError::ContentLength {
                declared: 20,
                actual: 47
            })
        );
        let masked = "HTTP/1.1 200 OK\r\ncontent-length: <n>\r\n\r\n";
        assert!(matches!(
            Expected::parse(masked.as_bytes()),
            Err(TemplateError::BadContentLength(_))
        ));
        // A bad expected file fails the case, whatever the reply.
        let verdict = judge(Some(wrong.as_bytes()), &reply(wrong.as_bytes()));
        assert!(matches!(verdict, Verdict::BadExpected(_)), "{verdict:?}");
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        for text in ["{{GUID}}", "{{uuid}}", "a {{guid}", "{{"] {
            let parsed = Expected::parse(text.as_bytes());
            assert!(
                matches!(parsed, Err(TemplateError::UnknownPlaceholder { .. })),
                "{text}: {parsed:?}"
            );
        }
        // A lone brace, or closing braces, are literal.
        assert!(Expected::parse(b"{\"a\":{}}")
            .expect("literal")
            .matches(b"{\"a\":{}}"));
    }

    #[test]
    fn dates_are_masked_by_shape_and_in_the_head_only() {
        let real = b"HTTP/1.1 201 Created\r\nServer: nginx\r\nDate: Tue, 10 Dec 2013 05:55:54 GMT\r\nContent-Length: 0\r\n\r\n";
        let expected = to_expected(real);
        assert_eq!(
            String::from_utf8_lossy(&expected),
            "HTTP/1.1 201 Created\r\nServer: nginx\r\nDate: {{date}}\r\nContent-Length: 0\r\n\r\n"
        );
        let later = b"HTTP/1.1 201 Created\r\nServer: nginx\r\nDate: Wed, 03 Dec 2025 13:30:00 GMT\r\nContent-Length: 0\r\n\r\n";
        assert!(judge(Some(&expected), &reply(later)).passed());
        let odd = b"HTTP/1.1 201 Created\r\nServer: nginx\r\nDate: Wed,  3 Dec 2025 13:30:00 GMT\r\nContent-Length: 0\r\n\r\n";
        assert!(!judge(Some(&expected), &reply(odd)).passed());
        // Not a header: left alone.
        assert_eq!(
            to_expected(b"x Date: Tue, 10 Dec 2013 05:55:54 GMT"),
            b"x Date: Tue, 10 Dec 2013 05:55:54 GMT"
        );
    }

    #[test]
    fn recording_masks_only_whole_guids_and_round_trips() {
        assert_eq!(
            to_expected(format!("x{GUID}").as_bytes()),
            format!("x{GUID_PLACEHOLDER}").as_bytes()
        );
        // Glued to more hex, or too short: not a guid.
        let glued = format!("f{GUID}");
        assert_eq!(to_expected(glued.as_bytes()), glued.as_bytes());
        let short = &GUID[..35];
        assert_eq!(to_expected(short.as_bytes()), short.as_bytes());
        let real = http("200 OK", &action_body(GUID));
        assert!(judge(Some(&to_expected(&real)), &reply(&real)).passed());
    }

    #[test]
    fn a_reply_that_overflows_the_read_fails_even_when_it_matches() {
        let good = http("201 Created", "");
        let mut split = reply(&good);
        split.later = 10;
        assert!(matches!(judge(Some(&good), &split), Verdict::Split(10)));
        let mut long = reply(&vec![b'x'; READ_LIMIT]);
        long.later = 5;
        assert!(matches!(judge(None, &long), Verdict::TooLong(5)));
    }

    #[test]
    fn diff_shows_changed_lines() {
        assert_eq!(diff("a\nb", "a\nb"), None);
        let d = diff("a\\r\nb\nc", "a\\r\nB\nc").expect("differs");
        assert!(d.contains("  a\\r\n- b\n+ B\n  c\n"), "{d}");
        assert!(d.contains("first difference at character 4"));
    }
}
