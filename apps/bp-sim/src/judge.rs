//! How the firmware judges a reply: substring searches on the raw buffer (head and body
//! together, `strstr()` in the firmware), never Content-Length or Content-Type
//! (`legacy-protocol.md` §1, §3).
//!
//! Pure functions over the bytes the box read; no I/O. Each returns a [`Rejection`] for what
//! the firmware treats as an error.
//!
//! Where the protocol doc leaves a detail open, this module is strict and says so (the
//! `"infos":[` and `"newversion":"` spellings must be compact; a guid must be 1–64 visible
//! ASCII characters; the whole `myactions` reply is checked before any action runs).

use essensys_core::{Index, Param, Value};

use crate::{MAX_INFOS, MAX_PARAMS, TABLE_SIZE};

/// The status substring `serverinfos` and `myactions` replies must contain.
pub const OK_200: &str = "HTTP/1.1 200 OK";
/// The status substring `mystatus` and `done` replies must contain.
pub const CREATED_201: &str = "HTTP/1.1 201 Created";

/// Why the firmware would reject a reply it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The expected status substring is missing.
    Status {
        /// The substring that was searched for.
        expected: &'static str,
        /// The first line of the buffer (up to 80 characters, lossy UTF-8).
        status_line: String,
    },
    /// The body does not follow the grammar the firmware reads.
    Grammar(String),
}

/// What a `serverinfos` reply tells the box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfos {
    /// `isconnected`: `true` anywhere in the buffer, else `false` anywhere.
    pub connected: bool,
    /// The indices to report in the next `mystatus` (may be empty, at most 30).
    pub infos: Vec<u16>,
    /// `None` for `"no"`, else the `"V<n>"` the server wants the box to download.
    pub ota: Option<String>,
}

/// What a `myactions` reply asks the box to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionsReply {
    /// The `_de67f` alarm order, if not `null`.
    pub alarm: Option<AlarmOrder>,
    /// The actions, in the order received.
    pub actions: Vec<ReceivedAction>,
}

/// A `_de67f` alarm order as received: `{"guid":"…","obl":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmOrder {
    /// Its guid, acked with `done` like an action's.
    pub guid: String,
    /// The ciphertext bytes in decimal joined by `;`, as received.
    pub obl: String,
}

/// One action as received: `{"guid":"…","params":[{"k":613,"v":"64"},…]}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAction {
    /// Its guid, acked with `POST /api/done/<guid>`.
    pub guid: String,
    /// Its params in the order received (k < 953, v ≤ 255, at most 30).
    pub params: Vec<Param>,
}

/// Checks that `buf` contains `expected` (a status substring such as [`OK_200`]).
pub fn status(buf: &[u8], expected: &'static str) -> Result<(), Rejection> {
    if find(buf, expected.as_bytes()).is_some() {
        Ok(())
    } else {
        Err(Rejection::Status {
            expected,
            status_line: first_line(buf),
        })
    }
}

/// Judges a `serverinfos` reply (§3.1).
///
/// - `HTTP/1.1 200 OK` somewhere in the buffer;
/// - `isconnected` := `true` anywhere in the buffer (headers included), else `false` anywhere,
///   else a rejection;
/// - `"infos":[` then decimal indices (each ≤ 65535) separated by `,`, no spaces, `]`; at most
///   30;
/// - `"newversion":"` then `no"` or `V<digits>"`; anything else is a rejection.
pub fn serverinfos(buf: &[u8]) -> Result<ServerInfos, Rejection> {
    status(buf, OK_200)?;
    let connected = if find(buf, b"true").is_some() {
        true
    } else if find(buf, b"false").is_some() {
        false
    } else {
        return Err(Rejection::Grammar(
            "neither `true` nor `false` occurs in the reply (isconnected)".into(),
        ));
    };

    let start = find(buf, b"\"infos\":[")
        .ok_or_else(|| Rejection::Grammar("no `\"infos\":[` in the reply".into()))?;
    let mut cursor = Cursor::new(buf, start + b"\"infos\":[".len());
    let mut infos = Vec::new();
    if !cursor.eat(b']') {
        loop {
            let index = cursor.number("an infos index, no spaces allowed")?;
            let index = u16::try_from(index)
                .map_err(|_| Rejection::Grammar(format!("infos index {index} is above 65535")))?;
            infos.push(index);
            if infos.len() > MAX_INFOS {
                return Err(Rejection::Grammar(format!(
                    "infos asks for more than {MAX_INFOS} indices"
                )));
            }
            if cursor.eat(b',') {
                continue;
            }
            if cursor.eat(b']') {
                break;
            }
            return Err(cursor.error("`,` or `]` after an infos index (no spaces allowed)"));
        }
    }

    let start = find(buf, b"\"newversion\":\"")
        .ok_or_else(|| Rejection::Grammar("no `\"newversion\":\"` in the reply".into()))?;
    let mut cursor = Cursor::new(buf, start + b"\"newversion\":\"".len());
    let version = cursor.until_quote("the newversion value")?;
    let ota = match version {
        b"no" => None,
        [b'V', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            Some(String::from_utf8_lossy(version).into_owned())
        }
        other => {
            return Err(Rejection::Grammar(format!(
                "newversion must be \"no\" or \"V<n>\", got \"{}\"",
                shown(other)
            )))
        }
    };
    Ok(ServerInfos {
        connected,
        infos,
        ota,
    })
}

/// Judges a `myactions` reply (§3.3): `HTTP/1.1 200 OK`, then `{"_de67f":` (null or an alarm
/// order) immediately followed by `,"actions":[`, then the actions in the strict grammar
///
/// ```text
/// {"guid":"<guid>","params":[{"k":<digits>,"v":"<digits>"},…]}
/// ```
/// with no whitespace anywhere, k < 953, v ≤ 255 and at most 30 params per action. Whatever
/// follows the `]` that closes the actions is not looked at.
pub fn myactions(buf: &[u8]) -> Result<ActionsReply, Rejection> {
    status(buf, OK_200)?;
    const DE67F: &[u8] = b"{\"_de67f\":";
    let start = find(buf, DE67F)
        .ok_or_else(|| Rejection::Grammar("no `{\"_de67f\":` in the reply".into()))?;
    let mut cursor = Cursor::new(buf, start + DE67F.len());

    let alarm = if cursor.eat_all(b"null") {
        None
    } else {
        cursor.expect(
            b"{\"guid\":\"",
            "`null` or `{\"guid\":\"` (the _de67f order)",
        )?;
        let guid = guid(&mut cursor, "the _de67f guid")?;
        cursor.expect(b",\"obl\":\"", "`,\"obl\":\"` in the _de67f order")?;
        let obl = String::from_utf8_lossy(cursor.until_quote("the obl value")?).into_owned();
        cursor.expect(b"}", "`}` closing the _de67f order")?;
        Some(AlarmOrder { guid, obl })
    };
    cursor.expect(
        b",\"actions\":[",
        "`,\"actions\":[` right after the _de67f value",
    )?;

    let mut actions = Vec::new();
    if !cursor.eat(b']') {
        loop {
            actions.push(action(&mut cursor, actions.len() + 1)?);
            if cursor.eat(b',') {
                continue;
            }
            if cursor.eat(b']') {
                break;
            }
            return Err(cursor.error("`,` or `]` after an action"));
        }
    }
    Ok(ActionsReply { alarm, actions })
}

/// One action; `number` counts from 1 for messages.
fn action(cursor: &mut Cursor<'_>, number: usize) -> Result<ReceivedAction, Rejection> {
    cursor.expect(b"{\"guid\":\"", "`{\"guid\":\"` starting an action")?;
    let guid = guid(cursor, "an action guid")?;
    cursor.expect(b",\"params\":[", "`,\"params\":[` after the guid")?;
    let mut params = Vec::new();
    if !cursor.eat(b']') {
        loop {
            if params.len() == MAX_PARAMS {
                return Err(Rejection::Grammar(format!(
                    "action {number} has more than {MAX_PARAMS} params (the firmware has {MAX_PARAMS} slots)"
                )));
            }
            let at = params.len() + 1;
            cursor.expect(
                b"{\"k\":",
                "`{\"k\":` starting a param (exact, no whitespace)",
            )?;
            let k = cursor.number("the param's k")?;
            let index = u16::try_from(k)
                .ok()
                .filter(|&k| k < TABLE_SIZE)
                .and_then(|k| Index::new(k).ok())
                .ok_or_else(|| {
                    Rejection::Grammar(format!(
                        "action {number} param {at}: k {k} is not below {TABLE_SIZE}"
                    ))
                })?;
            cursor.expect(
                b",\"v\":\"",
                "`,\"v\":\"` after k (v quoted, no whitespace)",
            )?;
            let v = cursor.number("the param's v")?;
            let value = u8::try_from(v).map_err(|_| {
                Rejection::Grammar(format!("action {number} param {at}: v {v} is above 255"))
            })?;
            cursor.expect(b"\"}", "`\"}` closing a param")?;
            params.push(Param::new(index, Value(value)));
            if cursor.eat(b',') {
                continue;
            }
            if cursor.eat(b']') {
                break;
            }
            return Err(cursor.error("`,` or `]` after a param"));
        }
    }
    cursor.expect(b"}", "`}` closing an action")?;
    Ok(ReceivedAction { guid, params })
}

/// A guid up to the closing quote: 1–64 visible ASCII characters (it goes verbatim into a
/// request line).
fn guid(cursor: &mut Cursor<'_>, what: &str) -> Result<String, Rejection> {
    let raw = cursor.until_quote(what)?;
    if raw.is_empty() || raw.len() > 64 || !raw.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Rejection::Grammar(format!(
            "{what} \"{}\" is not 1-64 visible ASCII characters",
            shown(raw)
        )));
    }
    Ok(String::from_utf8_lossy(raw).into_owned())
}

/// A read position in the reply buffer.
struct Cursor<'a> {
    /// The whole buffer (offsets in messages are into it).
    buf: &'a [u8],
    /// The next byte to read.
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8], at: usize) -> Self {
        Self { buf, at }
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        if self.buf.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `literal` if it is next.
    fn eat_all(&mut self, literal: &[u8]) -> bool {
        if self.buf[self.at.min(self.buf.len())..].starts_with(literal) {
            self.at += literal.len();
            true
        } else {
            false
        }
    }

    /// Consumes `literal` or fails saying `what` was expected.
    fn expect(&mut self, literal: &[u8], what: &str) -> Result<(), Rejection> {
        if self.eat_all(literal) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// 1–10 decimal digits.
    fn number(&mut self, what: &str) -> Result<u64, Rejection> {
        let rest = &self.buf[self.at.min(self.buf.len())..];
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return Err(self.error(&format!("{what} (decimal digits)")));
        }
        if len > 10 {
            return Err(Rejection::Grammar(format!(
                "at byte {}: {what} has {len} digits",
                self.at
            )));
        }
        let value = rest[..len]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        self.at += len;
        Ok(value)
    }

    /// The bytes up to the next `"`, which is consumed.
    fn until_quote(&mut self, what: &str) -> Result<&'a [u8], Rejection> {
        let rest = &self.buf[self.at.min(self.buf.len())..];
        match rest.iter().position(|&b| b == b'"') {
            Some(len) => {
                self.at += len + 1;
                Ok(&rest[..len])
            }
            None => Err(Rejection::Grammar(format!(
                "at byte {}: {what} has no closing quote (reply cut?)",
                self.at
            ))),
        }
    }

    /// A rejection saying what was expected at the current position and what is there.
    fn error(&self, expected: &str) -> Rejection {
        let rest = &self.buf[self.at.min(self.buf.len())..];
        let found = if rest.is_empty() {
            "the end of the reply".to_string()
        } else {
            format!("`{}`", shown(&rest[..rest.len().min(16)]))
        };
        Rejection::Grammar(format!(
            "at byte {}: expected {expected}, found {found}",
            self.at
        ))
    }
}

/// The position of the first occurrence of `needle` in `hay` (`strstr`).
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first line of a buffer, for messages: at most 80 characters, escaped.
pub(crate) fn first_line(buf: &[u8]) -> String {
    let end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(buf.len());
    shown(&buf[..end.min(80)])
}

/// Bytes as printable text: visible ASCII and spaces as is, `\r`, `\n`, `\t` and any other
/// byte escaped (`\xNN`).
pub(crate) fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7E => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(head_extra: &str, body: &str) -> Vec<u8> {
        format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{head_extra}\r\n{body}").into_bytes()
    }

    #[test]
    fn isconnected_is_a_substring_search_over_the_whole_buffer() {
        let on = serverinfos(&reply(
            "",
            r#"{"isconnected":true,"infos":[],"newversion":"no"}"#,
        ));
        assert_eq!(on.map(|s| s.connected), Ok(true));
        let off = serverinfos(&reply(
            "",
            r#"{"isconnected":false,"infos":[],"newversion":"no"}"#,
        ));
        assert_eq!(off.map(|s| s.connected), Ok(false));
        // A header containing `true` makes the box believe someone is watching.
        let header = serverinfos(&reply(
            "X-Trace: trueish\r\n",
            r#"{"isconnected":false,"infos":[],"newversion":"no"}"#,
        ));
        assert_eq!(header.map(|s| s.connected), Ok(true));
        // `true` wins over `false`, wherever they are.
        let both = serverinfos(&reply(
            "",
            r#"{"isconnected":false,"infos":[],"newversion":"no","x":true}"#,
        ));
        assert_eq!(both.map(|s| s.connected), Ok(true));
        // Neither: an error, even if the rest is fine.
        let neither = serverinfos(&reply(
            "",
            r#"{"isconnected":1,"infos":[],"newversion":"no"}"#,
        ));
        assert!(matches!(neither, Err(Rejection::Grammar(m)) if m.contains("isconnected")));
    }

    #[test]
    fn infos_are_compact_digits_at_most_30() {
        let ok = serverinfos(&reply(
            "",
            r#"{"isconnected":false,"infos":[363,349,350,351,352,353,11,920],"newversion":"V1"}"#,
        ));
        assert_eq!(
            ok,
            Ok(ServerInfos {
                connected: false,
                infos: vec![363, 349, 350, 351, 352, 353, 11, 920],
                ota: Some("V1".into()),
            })
        );
        let spaced = serverinfos(&reply(
            "",
            r#"{"isconnected":true,"infos":[1, 2],"newversion":"no"}"#,
        ));
        assert!(matches!(spaced, Err(Rejection::Grammar(m)) if m.contains("no spaces")));
        let thirty: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let body = format!(
            r#"{{"isconnected":true,"infos":[{}],"newversion":"no"}}"#,
            thirty.join(",")
        );
        assert_eq!(
            serverinfos(&reply("", &body)).map(|s| s.infos.len()),
            Ok(30)
        );
        let body = format!(
            r#"{{"isconnected":true,"infos":[{},30],"newversion":"no"}}"#,
            thirty.join(",")
        );
        assert!(
            matches!(serverinfos(&reply("", &body)), Err(Rejection::Grammar(m)) if m.contains("more than 30"))
        );
        let trailing = serverinfos(&reply(
            "",
            r#"{"isconnected":true,"infos":[1,],"newversion":"no"}"#,
        ));
        assert!(trailing.is_err());
        let missing = serverinfos(&reply("", r#"{"isconnected":true,"newversion":"no"}"#));
        assert!(missing.is_err());
    }

    #[test]
    fn newversion_must_be_no_or_v_digits() {
        let body = |v: &str| {
            reply(
                "",
                &format!(r#"{{"isconnected":true,"infos":[],"newversion":"{v}"}}"#),
            )
        };
        assert_eq!(serverinfos(&body("no")).map(|s| s.ota), Ok(None));
        assert_eq!(
            serverinfos(&body("V38")).map(|s| s.ota),
            Ok(Some("V38".into()))
        );
        for bad in ["yes", "V", "v1", "", "NO"] {
            assert!(serverinfos(&body(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn status_is_a_substring_check() {
        assert!(status(b"HTTP/1.1 201 Created\r\n\r\n", CREATED_201).is_ok());
        assert_eq!(
            status(b"HTTP/1.1 200 OK\r\n\r\n", CREATED_201),
            Err(Rejection::Status {
                expected: CREATED_201,
                status_line: "HTTP/1.1 200 OK".into()
            })
        );
        // HTTP/1.0 is not HTTP/1.1.
        assert!(status(b"HTTP/1.0 200 OK\r\n\r\n", OK_200).is_err());
    }

    #[test]
    fn myactions_grammar() {
        let ok = myactions(&reply(
            "",
            r#"{"_de67f":null,"actions":[{"guid":"a-1","params":[{"k":613,"v":"64"},{"k":590,"v":"1"}]},{"guid":"b","params":[]}]}"#,
        ));
        let ok = ok.expect("valid reply");
        assert_eq!(ok.alarm, None);
        assert_eq!(ok.actions.len(), 2);
        assert_eq!(ok.actions[0].guid, "a-1");
        assert_eq!(ok.actions[0].params.len(), 2);
        assert_eq!(ok.actions[0].params[0].index.get(), 613);
        assert_eq!(ok.actions[0].params[0].value.get(), 64);

        let alarm = myactions(&reply(
            "",
            r#"{"_de67f":{"guid":"806b4fc7-a820-4c49-9ae8-24ced8f6770f","obl":"1;2;3"},"actions":[]}"#,
        ))
        .expect("alarm reply");
        assert_eq!(
            alarm.alarm,
            Some(AlarmOrder {
                guid: "806b4fc7-a820-4c49-9ae8-24ced8f6770f".into(),
                obl: "1;2;3".into()
            })
        );

        for bad in [
            r#"{"actions":[],"_de67f":null}"#,
            r#"{"_de67f":null, "actions":[]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":613, "v":"64"}]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"v":"64","k":613}]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":613,"v":64}]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":"613","v":"64"}]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":953,"v":"1"}]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":1,"v":"256"}]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"","params":[]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"a b","params":[]}]}"#,
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":1,"v":"1"}]"#,
        ] {
            assert!(
                matches!(myactions(&reply("", bad)), Err(Rejection::Grammar(_))),
                "accepted {bad}"
            );
        }
    }

    #[test]
    fn grammar_messages_say_where() {
        let error = myactions(&reply(
            "",
            r#"{"_de67f":null,"actions":[{"guid":"g","params":[{"k":952,"v":"1"},{"k":953,"v":"1"}]}]}"#,
        ));
        assert_eq!(
            error,
            Err(Rejection::Grammar(
                "action 1 param 2: k 953 is not below 953".into()
            ))
        );
    }
}
