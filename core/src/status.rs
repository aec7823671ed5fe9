//! The parser of the box's status reports (`POST /api/mystatus` bodies), written with nom.
//!
//! The box sends relaxed JSON: the outer keys are quoted, the item keys are not
//! (`{"version":"V37","ek":[{k:613,v:"0"},{k:11,v:"10000000"}]}`). Older tools leave every key
//! bare, some deployments send fully quoted JSON, and anything may be spread over lines. The
//! accepted grammar, over bytes:
//!
//! ```text
//! body     = ws '{' ws member ws ',' ws member ws '}' ws     ; 'version' and 'ek' once each, any order
//! member   = key<version> ws ':' ws version
//!          | key<ek> ws ':' ws list
//! key<X>   = '"' X '"' | X                                  ; a key is quoted or bare
//! version  = '"' text '"'                                   ; text: UTF-8, no '"', '\' or control byte;
//!                                                           ; the report keeps it minus a leading 'V'
//! list     = '[' ws ']'
//!          | '[' ws item (ws ',' ws item)* ws ']'           ; at most MAX_ITEMS (953) items
//! item     = '{' ws field ws ',' ws field ws '}'            ; 'k' and 'v' once each, any order
//! field    = key<k> ws ':' ws index
//!          | key<v> ws ':' ws value
//! index    = digit+                                         ; decimal, must be below 953
//! value    = '"' (any byte but '"')* '"' | digit+           ; read by codec::decode_reported
//! ws       = (' ' | '\t' | '\n' | '\r')*
//! ```
//!
//! A body longer than [`MAX_BODY`] bytes is refused before parsing. An index of 953 or more, or
//! a value that does not decode for its index (a decimal `0`…`255`, or for the cells 11/920/921
//! also an LSB-first 8-bit binary string), is an *item* error: the item is well formed but
//! unusable. [`parse`] fails on the first error of any kind; [`parse_lenient`] skips bad items,
//! stops at the first syntax error and keeps everything read before it — the server must answer
//! `201 Created` whenever it can (protocol §3.2), so it stores what it could read.
//!
//! Every error carries the byte offset of the offending byte in the body (see
//! [`StatusError::offset`]). The parser never panics, does not recurse, and borrows the version
//! from the body; the only allocation on success is the vector of params.

use nom::{
    branch::alt,
    bytes::complete::{tag, take_till, take_while},
    character::complete::{char, digit1, multispace0},
    combinator::{cut, eof, map, value},
    error::{context, ContextError, ErrorKind, ParseError},
    sequence::{delimited, preceded, terminated},
    IResult, Parser,
};
use thiserror::Error;

use crate::{cell::Index, codec::decode_reported, Param};

/// The largest status body accepted, in bytes (64 KiB); longer bodies are refused unread.
pub const MAX_BODY: usize = 64 * 1024;

/// The largest number of items accepted in the `ek` list (one per cell of the table).
pub const MAX_ITEMS: usize = 953;

/// A parsed status report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport<'a> {
    /// The text between the quotes of `version`, minus a leading `V` (e.g. `"37"`), borrowed
    /// from the body.
    pub version: &'a str,
    /// The reported cells, in the order of the body (duplicates kept).
    pub params: Vec<Param>,
}

/// Everything that could be read from a status body.
///
/// Syntax errors stop parsing (pairs read before are kept); an item whose index or value is
/// invalid but syntactically fine is skipped, recorded in `errors`, and parsing continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LenientReport<'a> {
    /// The version (minus a leading `V`), if its member was read before any syntax error.
    pub version: Option<&'a str>,
    /// The valid items read, in the order of the body.
    pub params: Vec<Param>,
    /// The problems met, in the order of the body; empty if the body is entirely valid. At most
    /// the last one is a syntax error, [`StatusError::TooLarge`] or
    /// [`StatusError::TooManyItems`].
    pub errors: Vec<StatusError>,
}

impl LenientReport<'_> {
    /// Whether the body was read without any error.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Why a status body (or one of its items) was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StatusError {
    /// The body is longer than [`MAX_BODY`].
    #[error("status body of {len} bytes exceeds {}", MAX_BODY)]
    TooLarge {
        /// The body's length in bytes.
        len: usize,
    },
    /// The `ek` list has more than [`MAX_ITEMS`] items.
    #[error("more than {} items", MAX_ITEMS)]
    TooManyItems,
    /// The body does not follow the grammar.
    #[error("expected {expected} at byte {offset}")]
    Syntax {
        /// The byte offset of the unexpected byte (the body's length if it ended too soon).
        offset: usize,
        /// The tokens that would have been accepted there, e.g. `'"' or digit`.
        expected: &'static str,
    },
    /// An item's index is not in the exchange table (it is ≥ 953).
    #[error("index {index} at byte {offset} is out of the exchange table (0..=952)")]
    Index {
        /// The byte offset of the index's first digit.
        offset: usize,
        /// The index as read (`u64::MAX` if it does not even fit in that).
        index: u64,
    },
    /// An item's value does not decode for its index.
    #[error("value {text:?}{} for index {index} at byte {offset} is not a valid cell value", length_note(*.len, .text))]
    Value {
        /// The byte offset of the value (its opening quote, or first digit if bare).
        offset: usize,
        /// The item's index.
        index: u16,
        /// The value's text (between the quotes), invalid UTF-8 replaced by U+FFFD, cut to
        /// [`MAX_EXCERPT`] characters (with `…` when cut).
        text: String,
        /// The value's whole length in bytes.
        len: usize,
    },
}

/// The most characters of a bad value an error keeps: errors are logged and published, and a
/// 64 KiB value must not become a 64 KiB message.
pub const MAX_EXCERPT: usize = 32;

/// ` (N bytes)` when `text` is an excerpt of a longer value.
fn length_note(len: usize, text: &str) -> String {
    if text.ends_with('…') {
        format!(" ({len} bytes)")
    } else {
        String::new()
    }
}

/// `raw` as text, cut to [`MAX_EXCERPT`] characters.
fn excerpt(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_EXCERPT * 4)]);
    let mut out: String = text.chars().take(MAX_EXCERPT).collect();
    if out.len() < raw.len() {
        out.push('…');
    }
    out
}

impl StatusError {
    /// The byte offset in the body the error points at, if it points at one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            StatusError::TooLarge { .. } | StatusError::TooManyItems => None,
            StatusError::Syntax { offset, .. }
            | StatusError::Index { offset, .. }
            | StatusError::Value { offset, .. } => Some(*offset),
        }
    }
}

/// Parses a status body strictly: any error, syntax or item, fails the whole body.
pub fn parse(body: &[u8]) -> Result<StatusReport<'_>, StatusError> {
    let mut doc = Doc::new(body, true);
    let version = doc.document()?;
    Ok(StatusReport {
        version,
        params: doc.params,
    })
}

/// Parses a status body leniently, returning everything that could be read (see
/// [`LenientReport`]). Never fails.
pub fn parse_lenient(body: &[u8]) -> LenientReport<'_> {
    let mut doc = Doc::new(body, false);
    if let Err(error) = doc.document() {
        doc.errors.push(error);
    }
    LenientReport {
        version: doc.version,
        params: doc.params,
        errors: doc.errors,
    }
}

// ---------------------------------------------------------------------------------------------
// The nom layer. Nothing of it leaves this module: errors become `StatusError` in `Doc::lift`.

type Input<'a> = &'a [u8];
type Res<'a, O> = IResult<Input<'a>, O, Expected>;

/// The parser's error: where it failed (as the length of the input left there) and what it
/// expected. The innermost `context` label wins, at the position where that context began.
#[derive(Clone, Copy, Debug)]
struct Expected {
    remaining: usize,
    label: Option<&'static str>,
}

impl<'a> ParseError<Input<'a>> for Expected {
    fn from_error_kind(input: Input<'a>, _kind: ErrorKind) -> Self {
        Expected {
            remaining: input.len(),
            label: None,
        }
    }

    fn append(_input: Input<'a>, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> ContextError<Input<'a>> for Expected {
    fn add_context(input: Input<'a>, ctx: &'static str, other: Self) -> Self {
        match other.label {
            Some(_) => other,
            None => Expected {
                remaining: input.len(),
                label: Some(ctx),
            },
        }
    }
}

/// The two members of the outer object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Version,
    Ek,
}

/// The two fields of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    K,
    V,
}

/// Runs `p`, also returning the length of the input it started on (to compute offsets).
fn spanned<'a, O, P>(mut p: P) -> impl Parser<Input<'a>, Output = (usize, O), Error = Expected>
where
    P: Parser<Input<'a>, Output = O, Error = Expected>,
{
    move |input: Input<'a>| {
        let remaining = input.len();
        p.parse(input).map(|(rest, out)| (rest, (remaining, out)))
    }
}

/// Optional whitespace, then the punctuation `c` (labelled `label` if missing).
fn sym<'a>(label: &'static str, c: char) -> impl Parser<Input<'a>, Output = (), Error = Expected> {
    value((), preceded(multispace0, context(label, char(c))))
}

/// Optional whitespace, then one of two punctuations: `true` for `closing`, `false` for `other`.
fn either<'a>(
    label: &'static str,
    closing: char,
    other: char,
) -> impl Parser<Input<'a>, Output = bool, Error = Expected> {
    preceded(
        multispace0,
        context(
            label,
            alt((value(true, char(closing)), value(false, char(other)))),
        ),
    )
}

/// A key, quoted or bare.
fn key<'a, T: Clone>(
    name: &'static str,
    out: T,
) -> impl Parser<Input<'a>, Output = T, Error = Expected> {
    value(
        out,
        alt((delimited(char('"'), tag(name), char('"')), tag(name))),
    )
}

/// A key of the outer object, after optional whitespace, with the offset where it starts.
fn member_key<'a>(
    label: &'static str,
) -> impl Parser<Input<'a>, Output = (usize, Member), Error = Expected> {
    preceded(
        multispace0,
        spanned(context(
            label,
            alt((key("version", Member::Version), key("ek", Member::Ek))),
        )),
    )
}

/// A key of an item, after optional whitespace, with the offset where it starts.
fn field_key<'a>(
    label: &'static str,
) -> impl Parser<Input<'a>, Output = (usize, Field), Error = Expected> {
    preceded(
        multispace0,
        spanned(context(
            label,
            alt((key("k", Field::K), key("v", Field::V))),
        )),
    )
}

/// The version's text, quotes excluded.
fn version_text(input: Input<'_>) -> Res<'_, (usize, Input<'_>)> {
    preceded(
        multispace0,
        delimited(
            context("'\"'", char('"')),
            spanned(take_while(|c: u8| c != b'"' && c != b'\\' && c >= 0x20)),
            context("'\"'", char('"')),
        ),
    )
    .parse(input)
}

/// An index: decimal digits, saturating at `u64::MAX`.
fn index_number(input: Input<'_>) -> Res<'_, (usize, u64)> {
    preceded(
        multispace0,
        spanned(context(
            "digit",
            map(digit1, |digits: Input<'_>| {
                digits.iter().fold(0u64, |n, d| {
                    n.saturating_mul(10)
                        .saturating_add(u64::from(d.wrapping_sub(b'0')))
                })
            }),
        )),
    )
    .parse(input)
}

/// A value: a quoted string (its text is returned) or bare digits.
fn value_text(input: Input<'_>) -> Res<'_, (usize, Input<'_>)> {
    preceded(
        multispace0,
        spanned(context(
            "'\"' or digit",
            alt((
                preceded(
                    char('"'),
                    cut(terminated(
                        take_till(|c| c == b'"'),
                        context("'\"'", char('"')),
                    )),
                ),
                digit1,
            )),
        )),
    )
    .parse(input)
}

/// One item, whose `{` has been read: both fields in either order, then `}`.
fn item(input: Input<'_>) -> Res<'_, RawItem<'_>> {
    // Both fields are read exactly once (a repeated key is an error), so both slots are written.
    let mut raw = RawItem {
        k_remaining: 0,
        k: 0,
        v_remaining: 0,
        v: &[],
    };
    let (input, (_, first)) = field_key("key 'k' or 'v'").parse(input)?;
    let input = field_value(input, first, &mut raw)?;
    let input = sym("','", ',').parse(input)?.0;
    let (second, label) = match first {
        Field::K => (Field::V, "key 'v'"),
        Field::V => (Field::K, "key 'k'"),
    };
    let (input, (key_at, found)) = field_key(label).parse(input)?;
    if found != second {
        return Err(nom::Err::Failure(Expected {
            remaining: key_at,
            label: Some(label),
        }));
    }
    let input = field_value(input, second, &mut raw)?;
    let input = sym("'}'", '}').parse(input)?.0;
    Ok((input, raw))
}

/// `:` and the value of `field`, stored into `raw`.
fn field_value<'a>(
    input: Input<'a>,
    field: Field,
    raw: &mut RawItem<'a>,
) -> Result<Input<'a>, nom::Err<Expected>> {
    let input = sym("':'", ':').parse(input)?.0;
    match field {
        Field::K => {
            let (input, (at, k)) = index_number(input)?;
            raw.k_remaining = at;
            raw.k = k;
            Ok(input)
        }
        Field::V => {
            let (input, (at, v)) = value_text(input)?;
            raw.v_remaining = at;
            raw.v = v;
            Ok(input)
        }
    }
}

/// An item as read, before its index and value are checked.
#[derive(Clone, Copy, Debug)]
struct RawItem<'a> {
    k_remaining: usize,
    k: u64,
    v_remaining: usize,
    v: Input<'a>,
}

// ---------------------------------------------------------------------------------------------
// The driver: walks the outer object and the list with the nom parsers above, collecting params
// as it goes so that a later syntax error does not lose them.

struct Doc<'a> {
    body: &'a [u8],
    strict: bool,
    version: Option<&'a str>,
    params: Vec<Param>,
    errors: Vec<StatusError>,
}

impl<'a> Doc<'a> {
    fn new(body: &'a [u8], strict: bool) -> Self {
        Doc {
            body,
            strict,
            version: None,
            params: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The offset of a position given as the length of the input left there.
    fn offset(&self, remaining: usize) -> usize {
        self.body.len().saturating_sub(remaining)
    }

    /// Maps a nom result to the module's error type.
    fn lift<O>(&self, result: Res<'a, O>) -> Result<(Input<'a>, O), StatusError> {
        result.map_err(|e| match e {
            nom::Err::Error(e) | nom::Err::Failure(e) => StatusError::Syntax {
                offset: self.offset(e.remaining),
                expected: e.label.unwrap_or("valid input"),
            },
            // Only streaming parsers ask for more input; all of ours are `complete`.
            nom::Err::Incomplete(_) => StatusError::Syntax {
                offset: self.body.len(),
                expected: "more input",
            },
        })
    }

    /// The whole body; returns the version.
    fn document(&mut self) -> Result<&'a str, StatusError> {
        let body = self.body;
        if body.len() > MAX_BODY {
            return Err(StatusError::TooLarge { len: body.len() });
        }
        let (mut input, ()) = self.lift(sym("'{'", '{').parse(body))?;
        // Both members are read exactly once (a repeated key is an error), so `version` is
        // written before the loop ends.
        let mut version = "";
        let (mut seen_version, mut seen_ek) = (false, false);
        for member in 0..2 {
            let label = match (seen_version, seen_ek) {
                (false, false) => "key 'version' or 'ek'",
                (true, _) => "key 'ek'",
                (_, true) => "key 'version'",
            };
            let (rest, (key_at, key)) = self.lift(member_key(label).parse(input))?;
            let (rest, ()) = self.lift(sym("':'", ':').parse(rest))?;
            let rest = match key {
                Member::Version if !seen_version => {
                    seen_version = true;
                    let (rest, (text_at, text)) = self.lift(version_text(rest))?;
                    let text = std::str::from_utf8(text).map_err(|e| StatusError::Syntax {
                        offset: self.offset(text_at) + e.valid_up_to(),
                        expected: "UTF-8 text",
                    })?;
                    version = text.strip_prefix('V').unwrap_or(text);
                    self.version = Some(version);
                    rest
                }
                Member::Ek if !seen_ek => {
                    seen_ek = true;
                    self.list(rest)?
                }
                _ => {
                    return Err(StatusError::Syntax {
                        offset: self.offset(key_at),
                        expected: label,
                    })
                }
            };
            let (close, punct) = if member == 0 {
                ("','", ',')
            } else {
                ("'}'", '}')
            };
            input = self.lift(sym(close, punct).parse(rest))?.0;
        }
        self.lift(preceded(multispace0, context("end of input", eof)).parse(input))?;
        Ok(version)
    }

    /// The `ek` list, from its `[` to its `]`.
    fn list(&mut self, input: Input<'a>) -> Result<Input<'a>, StatusError> {
        let (input, ()) = self.lift(sym("'['", '[').parse(input))?;
        let (mut input, closed) = self.lift(either("'{' or ']'", ']', '{').parse(input))?;
        if closed {
            return Ok(input);
        }
        // The smallest item, `{k:0,v:0}` and a comma, is 10 bytes.
        self.params
            .reserve((self.body.len() / 10).clamp(1, MAX_ITEMS));
        let mut count = 0;
        loop {
            // An item's `{` has just been read.
            if count == MAX_ITEMS {
                return Err(StatusError::TooManyItems);
            }
            count += 1;
            let (rest, raw) = self.lift(item(input))?;
            self.accept(raw)?;
            let (rest, closed) = self.lift(either("',' or ']'", ']', ',').parse(rest))?;
            if closed {
                return Ok(rest);
            }
            input = self.lift(sym("'{'", '{').parse(rest))?.0;
        }
    }

    /// Checks an item's index and value; keeps it, or records (lenient) or returns (strict)
    /// the error.
    fn accept(&mut self, raw: RawItem<'a>) -> Result<(), StatusError> {
        let index = match Index::try_from(raw.k) {
            Ok(index) => index,
            Err(_) => {
                return self.reject(StatusError::Index {
                    offset: self.offset(raw.k_remaining),
                    index: raw.k,
                })
            }
        };
        match decode_reported(index, raw.v) {
            Some(value) => {
                self.params.push(Param::new(index, value));
                Ok(())
            }
            None => self.reject(StatusError::Value {
                offset: self.offset(raw.v_remaining),
                index: index.get(),
                text: excerpt(raw.v),
                len: raw.v.len(),
            }),
        }
    }

    fn reject(&mut self, error: StatusError) -> Result<(), StatusError> {
        if self.strict {
            Err(error)
        } else {
            self.errors.push(error);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn p(index: u16, value: u8) -> Param {
        Param::new(Index::new(index).unwrap(), Value(value))
    }

    fn pairs(params: &[Param]) -> Vec<(u16, u8)> {
        params
            .iter()
            .map(|p| (p.index.get(), p.value.get()))
            .collect()
    }

    const FIRMWARE: &str = r#"{"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"17"},{k:11,v:"00000000"},{k:920,v:"10000000"}]}"#;

    fn ok(body: &str) -> StatusReport<'_> {
        match parse(body.as_bytes()) {
            Ok(report) => report,
            Err(e) => panic!("{body:?} refused: {e}"),
        }
    }

    fn err(body: &str) -> StatusError {
        match parse(body.as_bytes()) {
            Ok(report) => panic!("{body:?} accepted: {report:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_huge_bad_value_gives_a_short_error() {
        let body = format!(
            r#"{{"version":"V37","ek":[{{k:349,v:"{}"}}]}}"#,
            "x".repeat(60_000)
        );
        let error = err(&body);
        let message = error.to_string();
        assert!(message.len() < 200, "{} bytes: {message}", message.len());
        assert!(message.contains("60000 bytes"), "{message}");
        assert!(matches!(error, StatusError::Value { len: 60_000, .. }));
        assert_eq!(
            excerpt("é".repeat(40).as_bytes()).chars().count(),
            MAX_EXCERPT + 1
        );
        assert_eq!(excerpt(b"10000000"), "10000000");
    }

    #[test]
    fn firmware_form() {
        let report = ok(FIRMWARE);
        assert_eq!(report.version, "37");
        assert_eq!(
            report.params,
            vec![p(613, 0), p(349, 17), p(11, 0), p(920, 1)]
        );
        let lenient = parse_lenient(FIRMWARE.as_bytes());
        assert!(lenient.is_clean());
        assert_eq!(lenient.version, Some("37"));
        assert_eq!(lenient.params, report.params);
    }

    #[test]
    fn empty_list() {
        let report = ok(r#"{"version":"V37","ek":[]}"#);
        assert_eq!(report.version, "37");
        assert!(report.params.is_empty());
        assert!(ok(r#"{"version":"V37","ek":[ ]}"#).params.is_empty());
    }

    #[test]
    fn unquoted_keys_of_old_tools() {
        let report = ok(r#"{version:"V1",ek:[{k:613,v:"1"}]}"#);
        assert_eq!(report.version, "1");
        assert_eq!(report.params, vec![p(613, 1)]);
    }

    #[test]
    fn fully_quoted_json() {
        let report = ok(r#"{"version":"V37","ek":[{"k":613,"v":"0"},{"k":349,"v":"17"}]}"#);
        assert_eq!(pairs(&report.params), vec![(613, 0), (349, 17)]);
    }

    #[test]
    fn whitespace_everywhere() {
        let body = " \r\n{ \"version\" \t:\n \"V37\" ,\r\n\t\"ek\" : [ \n\t{ k : 613 , v : \"0\" } ,\n{\"k\"\t:\t349\n,\n\"v\"\n:\n\"17\"\n}\n] \n}\n\t ";
        let report = ok(body);
        assert_eq!(report.version, "37");
        assert_eq!(pairs(&report.params), vec![(613, 0), (349, 17)]);
    }

    #[test]
    fn version_without_v() {
        assert_eq!(ok(r#"{"version":"37","ek":[]}"#).version, "37");
        assert_eq!(ok(r#"{"version":"V","ek":[]}"#).version, "");
        assert_eq!(ok(r#"{"version":"","ek":[]}"#).version, "");
        // Only one leading V is removed.
        assert_eq!(ok(r#"{"version":"VV2","ek":[]}"#).version, "V2");
        assert_eq!(ok("{\"version\":\"V\u{e9}\",\"ek\":[]}").version, "\u{e9}");
    }

    #[test]
    fn keys_in_either_order() {
        let report = ok(r#"{"ek":[{v:"17",k:349},{k:613,v:"4"}],"version":"V37"}"#);
        assert_eq!(report.version, "37");
        assert_eq!(pairs(&report.params), vec![(349, 17), (613, 4)]);
    }

    #[test]
    fn binary_string_indices_are_lsb_first() {
        let report = ok(
            r#"{"version":"V37","ek":[{k:11,v:"10000000"},{k:920,v:"00110010"},{k:921,v:"3"}]}"#,
        );
        assert_eq!(pairs(&report.params), vec![(11, 1), (920, 76), (921, 3)]);
        // Elsewhere, a binary string is not a value.
        assert!(matches!(
            err(r#"{"version":"V37","ek":[{k:349,v:"10000000"}]}"#),
            StatusError::Value { index: 349, .. }
        ));
    }

    #[test]
    fn bare_integer_values() {
        let report =
            ok(r#"{"version":"V37","ek":[{k:613,v:64},{"k":349,"v":255},{k:11,v:10000000}]}"#);
        assert_eq!(pairs(&report.params), vec![(613, 64), (349, 255), (11, 1)]);
        let e = err(r#"{"version":"V37","ek":[{k:613,v:256}]}"#);
        assert_eq!(
            e.to_string(),
            "value \"256\" for index 613 at byte 32 is not a valid cell value"
        );
    }

    #[test]
    fn syntax_error_names_the_expected_tokens() {
        let body = r#"{"version":"V37","ek":[{k:6,v:"0"},{k:1,v:x}]}"#;
        let e = err(body);
        assert_eq!(e.to_string(), "expected '\"' or digit at byte 42");
        assert_eq!(e.offset(), body.find('x'));
        assert_eq!(
            e,
            StatusError::Syntax {
                offset: 42,
                expected: "'\"' or digit"
            }
        );

        let cases: &[(&str, &str)] = &[
            ("", "expected '{' at byte 0"),
            ("  [", "expected '{' at byte 2"),
            ("{}", "expected key 'version' or 'ek' at byte 1"),
            (
                r#"{"versio":"V37","ek":[]}"#,
                "expected key 'version' or 'ek' at byte 1",
            ),
            (r#"{"version""V37","ek":[]}"#, "expected ':' at byte 10"),
            (r#"{"version":V37,"ek":[]}"#, "expected '\"' at byte 11"),
            (r#"{"version":"V37"}"#, "expected ',' at byte 16"),
            (
                r#"{"version":"V37","version":"V37"}"#,
                "expected key 'ek' at byte 17",
            ),
            (r#"{"ek":[],"ek":[]}"#, "expected key 'version' at byte 9"),
            (r#"{"version":"V37","ek":[],}"#, "expected '}' at byte 24"),
            (r#"{"version":"V37","ek":{}}"#, "expected '[' at byte 22"),
            (
                r#"{"version":"V37","ek":[,]}"#,
                "expected '{' or ']' at byte 23",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,v:"0"},]}"#,
                "expected '{' at byte 35",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,v:"0"}{k:2,v:"0"}]}"#,
                "expected ',' or ']' at byte 34",
            ),
            (
                r#"{"version":"V37","ek":[{}]}"#,
                "expected key 'k' or 'v' at byte 24",
            ),
            (
                r#"{"version":"V37","ek":[{k:1}]}"#,
                "expected ',' at byte 27",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,k:2}]}"#,
                "expected key 'v' at byte 28",
            ),
            (
                r#"{"version":"V37","ek":[{v:"1",v:"2"}]}"#,
                "expected key 'k' at byte 30",
            ),
            (
                r#"{"version":"V37","ek":[{k:"1",v:"2"}]}"#,
                "expected digit at byte 26",
            ),
            (
                r#"{"version":"V37","ek":[{k:-1,v:"2"}]}"#,
                "expected digit at byte 26",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,v:"2",x:3}]}"#,
                "expected '}' at byte 33",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,v:"2"]}"#,
                "expected '}' at byte 33",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,v:"2}]}"#,
                "expected '\"' at byte 35",
            ),
            (
                r#"{"version":"V37","ek":[{k:1,v:"2"}]"#,
                "expected '}' at byte 35",
            ),
            (
                "{\"version\":\"V\u{1}\",\"ek\":[]}",
                "expected '\"' at byte 13",
            ),
            (
                "{\"version\":\"V3\\7\",\"ek\":[]}",
                "expected '\"' at byte 14",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(err(body).to_string(), *message, "body {body:?}");
        }
    }

    #[test]
    fn non_utf8_version_is_a_syntax_error() {
        let body = b"{\"version\":\"V\xff\xfe\",\"ek\":[]}";
        assert_eq!(
            parse(body).unwrap_err().to_string(),
            "expected UTF-8 text at byte 13"
        );
    }

    #[test]
    fn trailing_garbage_is_refused() {
        let e = err(&format!("{FIRMWARE}x"));
        assert_eq!(
            e,
            StatusError::Syntax {
                offset: FIRMWARE.len(),
                expected: "end of input"
            }
        );
        assert_eq!(
            e.to_string(),
            format!("expected end of input at byte {}", FIRMWARE.len())
        );
        assert!(matches!(
            err(&format!("{FIRMWARE} \n{{}}")),
            StatusError::Syntax { expected: "end of input", offset } if offset == FIRMWARE.len() + 2
        ));
        assert!(matches!(
            err(&format!("{FIRMWARE}\0")),
            StatusError::Syntax { .. }
        ));
        // Only whitespace may follow.
        assert_eq!(ok(&format!("{FIRMWARE} \r\n\t")).params.len(), 4);
    }

    #[test]
    fn index_error() {
        let e = err(r#"{"version":"V37","ek":[{k:953,v:"0"}]}"#);
        assert_eq!(
            e,
            StatusError::Index {
                offset: 26,
                index: 953
            }
        );
        assert_eq!(e.offset(), Some(26));
        assert_eq!(
            e.to_string(),
            "index 953 at byte 26 is out of the exchange table (0..=952)"
        );
        // Too big for u64: saturates.
        let e = err(r#"{"version":"V37","ek":[{v:"0", k:123456789012345678901234567890}]}"#);
        assert_eq!(
            e,
            StatusError::Index {
                offset: 33,
                index: u64::MAX
            }
        );
        assert!(
            ok(r#"{"version":"V37","ek":[{k:952,v:"0"},{k:0,v:"0"}]}"#)
                .params
                .len()
                == 2
        );
    }

    #[test]
    fn value_error() {
        let e = err(r#"{"version":"V37","ek":[{k:349,v:"300"}]}"#);
        assert_eq!(
            e,
            StatusError::Value {
                offset: 32,
                index: 349,
                text: "300".into(),
                len: 3,
            }
        );
        assert_eq!(e.offset(), Some(32));
        assert_eq!(
            e.to_string(),
            "value \"300\" for index 349 at byte 32 is not a valid cell value"
        );
        for bad in ["", " 1", "-1", "1.5", "0x10", "1000", "1000000"] {
            let body = format!(r#"{{"version":"V37","ek":[{{k:349,v:"{bad}"}}]}}"#);
            assert!(
                matches!(err(&body), StatusError::Value { ref text, .. } if text == bad),
                "{body}"
            );
        }
    }

    #[test]
    fn too_large_body() {
        let body = vec![b' '; MAX_BODY + 1];
        let e = parse(&body).unwrap_err();
        assert_eq!(e, StatusError::TooLarge { len: 65_537 });
        assert_eq!(e.offset(), None);
        assert_eq!(e.to_string(), "status body of 65537 bytes exceeds 65536");
        let lenient = parse_lenient(&body);
        assert_eq!(lenient.errors, vec![e]);
        assert_eq!(lenient.version, None);
        assert!(lenient.params.is_empty());

        // Exactly MAX_BODY bytes is fine.
        let mut body = FIRMWARE.as_bytes().to_vec();
        body.resize(MAX_BODY, b'\n');
        assert_eq!(parse(&body).unwrap().params.len(), 4);
    }

    fn items(n: usize) -> String {
        let mut body = String::from(r#"{"version":"V37","ek":["#);
        for i in 0..n {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(r#"{{k:{},v:"{}"}}"#, i % 953, i % 256));
        }
        body.push_str("]}");
        body
    }

    #[test]
    fn too_many_items() {
        let full = items(MAX_ITEMS);
        assert_eq!(ok(&full).params.len(), 953);

        let over = items(MAX_ITEMS + 1);
        let e = err(&over);
        assert_eq!(e, StatusError::TooManyItems);
        assert_eq!(e.offset(), None);
        assert_eq!(e.to_string(), "more than 953 items");
        let lenient = parse_lenient(over.as_bytes());
        assert_eq!(lenient.version, Some("37"));
        assert_eq!(lenient.params.len(), MAX_ITEMS);
        assert_eq!(lenient.errors, vec![StatusError::TooManyItems]);
    }

    #[test]
    fn lenient_keeps_pairs_read_before_a_syntax_error() {
        let body = r#"{"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"17"},{k:11,v:"1000"#;
        let report = parse_lenient(body.as_bytes());
        assert_eq!(report.version, Some("37"));
        assert_eq!(pairs(&report.params), vec![(613, 0), (349, 17)]);
        assert_eq!(
            report.errors,
            vec![StatusError::Syntax {
                offset: body.len(),
                expected: "'\"'"
            }]
        );
        assert!(parse(body.as_bytes()).is_err());

        // With `ek` first, the version is never reached.
        let body = r#"{"ek":[{k:613,v:"0"},{k:349 v:"17"}],"version":"V37"}"#;
        let report = parse_lenient(body.as_bytes());
        assert_eq!(report.version, None);
        assert_eq!(pairs(&report.params), vec![(613, 0)]);
        assert_eq!(
            report.errors,
            vec![StatusError::Syntax {
                offset: 28,
                expected: "','"
            }]
        );
    }

    #[test]
    fn lenient_skips_bad_items_and_goes_on() {
        let body = r#"{"version":"V37","ek":[{k:613,v:"0"},{k:349,v:"300"},{k:953,v:"1"},{k:350,v:"18"}]}"#;
        let report = parse_lenient(body.as_bytes());
        assert_eq!(report.version, Some("37"));
        assert_eq!(pairs(&report.params), vec![(613, 0), (350, 18)]);
        assert_eq!(
            report.errors,
            vec![
                StatusError::Value {
                    offset: 46,
                    index: 349,
                    text: "300".into(),
                    len: 3,
                },
                StatusError::Index {
                    offset: 56,
                    index: 953
                },
            ]
        );
        // Strict stops at the first.
        assert_eq!(parse(body.as_bytes()), Err(report.errors[0].clone()));
    }

    #[test]
    fn every_prefix_of_a_valid_body_is_refused_without_panic() {
        let bodies = [
            FIRMWARE.to_string(),
            r#"{ "ek" : [ { "v" : 12 , "k" : 11 } ] , version : "V37" } "#.to_string(),
        ];
        for body in &bodies {
            let full = parse(body.as_bytes()).unwrap();
            let bytes = body.trim_end().as_bytes();
            for len in 0..bytes.len() {
                let prefix = &bytes[..len];
                let e = parse(prefix).unwrap_err();
                let offset = e.offset().unwrap();
                assert!(offset <= len, "{e} for {len}");
                let lenient = parse_lenient(prefix);
                assert_eq!(lenient.errors.len(), 1, "{lenient:?}");
                assert!(full.params.starts_with(&lenient.params));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator: mutations of valid bodies and random noise.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"{}[]:,\"kv0123456789V \n\tversionek\\\xff";
        let base = FIRMWARE.as_bytes();
        for _ in 0..20_000 {
            let mut body = base.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % (body.len() + 1);
                let c = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 if at < body.len() => body[at] = c,
                    1 if at < body.len() => {
                        body.remove(at);
                    }
                    _ => body.insert(at, c),
                }
            }
            let strict = parse(&body);
            let lenient = parse_lenient(&body);
            if let Err(e) = &strict {
                assert!(e.offset().unwrap_or(0) <= body.len());
                assert_eq!(lenient.errors.first(), Some(e));
            } else {
                assert!(lenient.is_clean());
            }
        }
        for _ in 0..2_000 {
            let len = (next() % 64) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() as usize) % alphabet.len()])
                .collect();
            let _ = parse(&body);
            let _ = parse_lenient(&body);
        }
    }
}
