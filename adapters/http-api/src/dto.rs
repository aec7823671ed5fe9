//! The API's JSON shapes and their translation to and from core's types. No rule of the box
//! lives here: a value of 256 or a read-only index is passed to core, which refuses it.

use essensys_core::{
    gateway::Injected,
    merge::Queued,
    order::{RawCell, Switch},
    ports::ClientInfo,
    Index, Param,
};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::ApiError;

/// What an inject body looks like, for error messages.
const CELL_EXAMPLE: &str = r#"{"k":613,"v":"64"} or an array of them"#;

/// At most this many keys in one exchange read: the whole table.
const MAX_KEYS: usize = 953;

/// A JSON value as shown in an error message: its text, cut after 40 characters.
fn shown(value: &Json) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Reads a JSON body; `example` says what to send instead of a missing or malformed one.
pub(crate) fn json(body: &[u8], example: &str) -> Result<Json, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(format!(
            "the request body is empty: send {example}"
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not valid JSON ({e}): send {example}"
        ))
    })
}

/// The cells of an inject body: `{"k":613,"v":"64"}` or an array of them. `v` may be a string
/// or a JSON number (its text is passed on, so core refuses `256`, `-1` or `1.5` by name).
pub(crate) fn cells(body: &[u8]) -> Result<Vec<RawCell>, ApiError> {
    match json(body, CELL_EXAMPLE)? {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(n, item)| cell(n + 1, item))
            .collect(),
        item @ Json::Object(_) => Ok(vec![cell(1, &item)?]),
        other => Err(ApiError::bad_request(format!(
            "the body must be a cell {CELL_EXAMPLE}, not {}",
            shown(&other)
        ))),
    }
}

/// One cell of an inject body; `position` is 1-based, as in core's messages.
fn cell(position: usize, item: &Json) -> Result<RawCell, ApiError> {
    let bad = |what: String| ApiError::bad_request(format!("cell {position}: {what}"));
    let Json::Object(fields) = item else {
        return Err(bad(format!(
            r#"must be an object like {{"k":613,"v":"64"}}, not {}"#,
            shown(item)
        )));
    };
    let k = match fields.get("k") {
        Some(k) => k.as_u64().ok_or_else(|| {
            bad(format!(
                "k must be a non-negative integer (an index 0..=952), not {}",
                shown(k)
            ))
        })?,
        None => {
            return Err(bad(
                r#"k is missing: give the index, as in {"k":613,"v":"64"}"#.into(),
            ))
        }
    };
    let v = match fields.get("v") {
        Some(Json::String(text)) => text.clone(),
        Some(Json::Number(number)) => number.to_string(),
        Some(other) => {
            return Err(bad(format!(
                "v of index {k} must be a decimal string or a number 0..=255, not {}",
                shown(other)
            )))
        }
        None => {
            return Err(bad(format!(
                r#"v of index {k} is missing: give the value, as in {{"k":{k},"v":"64"}}"#
            )))
        }
    };
    Ok(RawCell { k, v })
}

/// The indices of `?keys=349,11`.
pub(crate) fn keys(text: Option<&str>) -> Result<Vec<Index>, ApiError> {
    let hint = "give indices 0..=952 separated by commas, e.g. keys=349,11";
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("no keys to read: {hint}")))?;
    if text.split(',').count() > MAX_KEYS {
        return Err(ApiError::bad_request(format!(
            "more than {MAX_KEYS} keys: the table has {MAX_KEYS} cells"
        )));
    }
    text.split(',')
        .map(|key| {
            key.trim()
                .parse::<Index>()
                .map_err(|e| ApiError::bad_request(format!("keys: {e}: {hint}")))
        })
        .collect()
}

/// The `{"state":…}` of a device order: `on` (or `open`) or `off` (or `close`), as named by
/// the route.
pub(crate) fn switch(body: &[u8], on: &str, off: &str) -> Result<Switch, ApiError> {
    let example = format!(r#"{{"state":"{on}"}} or {{"state":"{off}"}}"#);
    let value = json(body, &example)?;
    let state = value.get("state").ok_or_else(|| {
        ApiError::bad_request(format!("the body has no \"state\": send {example}"))
    })?;
    match state.as_str().map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case(on) => Ok(Switch::OnOrOpen),
        Some(s) if s.eq_ignore_ascii_case(off) => Ok(Switch::OffOrClose),
        _ => Err(ApiError::bad_request(format!(
            "state {} is not understood: send {example}",
            shown(state)
        ))),
    }
}

/// One cell as the API shows it: `{"k":349,"v":"17"}` (`v` is decimal text, `null` when the
/// box never reported it).
#[derive(Debug, Serialize)]
pub(crate) struct CellView {
    k: u16,
    v: Option<String>,
}

impl CellView {
    /// A cell and its value, if known.
    pub(crate) fn new(index: Index, value: Option<impl ToString>) -> Self {
        Self {
            k: index.get(),
            v: value.map(|v| v.to_string()),
        }
    }
}

impl From<Param> for CellView {
    fn from(param: Param) -> Self {
        Self::new(param.index, Some(param.value))
    }
}

/// The answer to every order: where it went.
#[derive(Debug, Serialize)]
pub(crate) struct InjectReply {
    status: &'static str,
    client: String,
    /// The first action's guid (the one to follow for a one-action order).
    guid: Option<String>,
    guids: Vec<String>,
    /// Per action: whether it joined a scene already queued (same guid as that one).
    merged: Vec<bool>,
}

impl From<Injected> for InjectReply {
    fn from(injected: Injected) -> Self {
        let guids: Vec<String> = injected
            .enqueued
            .iter()
            .map(|e| e.guid.to_string())
            .collect();
        Self {
            status: "ok",
            client: injected.client.to_string(),
            guid: guids.first().cloned(),
            merged: injected.enqueued.iter().map(|e| e.merged).collect(),
            guids,
        }
    }
}

/// A queued action: `{"guid","sent","params":[{"k","v"},…]}`.
#[derive(Debug, Serialize)]
pub(crate) struct ActionView {
    guid: String,
    sent: bool,
    params: Vec<CellView>,
}

impl From<&Queued> for ActionView {
    fn from(queued: &Queued) -> Self {
        Self {
            guid: queued.action.guid.to_string(),
            sent: queued.sent,
            params: queued
                .action
                .command
                .iter_params()
                .map(CellView::from)
                .collect(),
        }
    }
}

/// A box: `{"id","address","version","last_seen","pending"}`.
#[derive(Debug, Serialize)]
pub(crate) struct ClientView {
    id: String,
    address: Option<String>,
    version: Option<String>,
    /// RFC 3339, UTC.
    last_seen: String,
    pending: usize,
}

impl ClientView {
    /// A box and the number of actions waiting for it.
    pub(crate) fn new(info: &ClientInfo, pending: usize) -> Self {
        Self {
            id: info.id.to_string(),
            address: info.address.map(|a| a.to_string()),
            version: info.version.clone(),
            last_seen: info.last_seen.to_string(),
            pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "ok" or the status of the error answer.
    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        match result {
            Ok(_) => "ok".into(),
            Err(e) => axum::response::IntoResponse::into_response(e)
                .status()
                .as_str()
                .to_string(),
        }
    }

    #[test]
    fn cells_keep_values_as_text_for_core_to_judge() {
        let got = cells(br#"[{"k":613,"v":"64"},{"k":349,"v":17},{"k":1,"v":-1},{"k":2,"v":1.5}]"#);
        let got: Vec<(u64, String)> = got
            .map(|c| c.into_iter().map(|c| (c.k, c.v)).collect())
            .unwrap_or_default();
        assert_eq!(
            got,
            vec![
                (613, "64".into()),
                (349, "17".into()),
                (1, "-1".into()),
                (2, "1.5".into())
            ]
        );
    }

    #[test]
    fn malformed_cells_are_400() {
        for body in [
            &b""[..],
            b"  ",
            b"{",
            b"42",
            br#"{"v":"1"}"#,
            br#"{"k":-1,"v":"1"}"#,
            br#"{"k":"613","v":"1"}"#,
            br#"{"k":613}"#,
            br#"{"k":613,"v":true}"#,
            br#"[1]"#,
        ] {
            assert_eq!(
                message(cells(body)),
                "400",
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn keys_are_indices() {
        let ok: Vec<u16> = keys(Some("349, 11"))
            .map(|k| k.into_iter().map(Index::get).collect())
            .unwrap_or_default();
        assert_eq!(ok, vec![349, 11]);
        for bad in [None, Some(""), Some("349,abc"), Some("953"), Some("1,,2")] {
            assert_eq!(message(keys(bad)), "400", "{bad:?}");
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = Json::String("x".repeat(100));
        assert_eq!(shown(&long).chars().count(), 41);
    }
}
