//! The text forms this adapter stores and reads back: an action's wire JSON, an alarm order's
//! `_de67f` object, a history sample, an RFC 3339 time, and the older tools' loose action JSON.
//!
//! Actions are stored exactly as [`reply::encode_action`] writes them, so a stored string's
//! byte length is the action's [`reply::action_len`] and the delivery script can apply
//! [`reply::fitting_count`]'s rule on the stored strings without decoding them. Reading back
//! goes through [`Command::from_params`]: nothing here decides what a valid action is.
//!
//! Likewise an alarm order is stored exactly as [`reply::encode_alarm`] writes it, so its byte
//! length is its [`AlarmOrder::encoded_len`] (what [`reply::room_with_alarm`] takes), and it is
//! read back by [`decode_alarm`], which accepts that form only and leaves the checks to
//! [`Guid::new`] and [`AlarmOrder::new`].

use std::fmt;

use essensys_core::{
    order::RawCell,
    ports::{Sample, Timestamp},
    reply::{self, AlarmOrder},
    Action, Command, Guid, Index, Order, Param, Value,
};
use serde::Deserialize;

/// An index or value as JSON may carry it: a number or a decimal string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Number(u64),
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Number(n) => n.fmt(f),
            Scalar::Text(t) => t.fmt(f),
        }
    }
}

#[derive(Deserialize)]
struct StoredParam {
    k: Scalar,
    v: Scalar,
}

#[derive(Deserialize)]
struct StoredAction {
    guid: String,
    params: Vec<StoredParam>,
}

#[derive(Deserialize)]
struct LegacyAction {
    #[serde(default)]
    guid: Option<serde_json::Value>,
    params: Vec<StoredParam>,
}

/// The wire JSON of `action`: `{"guid":"…","params":[{"k":590,"v":"1"},…]}`.
pub(crate) fn encode_action(action: &Action) -> String {
    let mut out = Vec::with_capacity(reply::action_len(action));
    reply::encode_action(&mut out, action);
    // encode_action writes ASCII only
    String::from_utf8_lossy(&out).into_owned()
}

/// The stored form of `alarm`: its `_de67f` object, `{"guid":"…","obl":"…"}`.
pub(crate) fn encode_alarm(alarm: &AlarmOrder) -> String {
    let mut out = Vec::with_capacity(alarm.encoded_len());
    reply::encode_alarm(&mut out, alarm);
    // encode_alarm writes ASCII only (a guid and decimal bytes joined by ';')
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a stored alarm order back: exactly the form [`encode_alarm`] writes (no spacing, `guid`
/// then `obl`), since its stored length is what the delivery script takes off the room. The guid
/// and the `obl` are checked by [`Guid::new`] and [`AlarmOrder::new`].
pub(crate) fn decode_alarm(text: &str) -> Result<AlarmOrder, String> {
    let form = || format!("not an alarm order {{\"guid\":\"…\",\"obl\":\"…\"}}: {text:?}");
    let inner = text
        .strip_prefix(r#"{"guid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .ok_or_else(form)?;
    // neither a guid nor an obl may hold a '"': the first separator is the one
    let (guid, obl) = inner.split_once(r#"","obl":""#).ok_or_else(form)?;
    let guid = Guid::new(guid).map_err(|e| e.to_string())?;
    AlarmOrder::new(guid, obl.to_string()).map_err(|e| e.to_string())
}

/// Reads a stored action back. Tolerates what other tools may have written (spacing, `v` as a
/// number, params in another order); refuses anything [`Command::from_params`] refuses.
pub(crate) fn decode_action(text: &str) -> Result<Action, String> {
    let stored: StoredAction =
        serde_json::from_str(text).map_err(|e| format!("not action JSON: {e}"))?;
    let guid = Guid::new(&stored.guid).map_err(|e| e.to_string())?;
    let params = stored
        .params
        .iter()
        .map(|p| param(&p.k, &p.v))
        .collect::<Result<Vec<_>, _>>()?;
    let command = Command::from_params(&params).map_err(|e| e.to_string())?;
    Ok(Action { guid, command })
}

fn param(k: &Scalar, v: &Scalar) -> Result<Param, String> {
    let index = match k {
        Scalar::Number(n) => Index::try_from(*n).map_err(|e| e.to_string())?,
        Scalar::Text(t) => t
            .parse::<Index>()
            .map_err(|e| format!("index {t:?}: {e}"))?,
    };
    let value = v.to_string().parse::<Value>().map_err(|e| e.to_string())?;
    Ok(Param::new(index, value))
}

/// An element of the older gateways' global list, as an order to validate and expand, with the
/// guid it carried (if it was text).
pub(crate) fn decode_legacy(text: &str) -> Result<(Option<String>, Order), String> {
    let legacy: LegacyAction =
        serde_json::from_str(text).map_err(|e| format!("not action JSON: {e}"))?;
    let guid = legacy
        .guid
        .as_ref()
        .and_then(|g| g.as_str())
        .map(str::to_string);
    let cells = legacy
        .params
        .iter()
        .map(|p| {
            let k = match &p.k {
                Scalar::Number(n) => *n,
                Scalar::Text(t) => t
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| format!("index {t:?} is not a decimal number"))?,
            };
            Ok(RawCell {
                k,
                v: p.v.to_string().trim().to_string(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((guid, Order::Cells(cells)))
}

/// A history sample as stored: `"{millis}:{value}"`.
pub(crate) fn decode_sample(text: &str) -> Option<Sample> {
    let (at, value) = text.split_once(':')?;
    Some(Sample {
        at: Timestamp(at.parse().ok()?),
        value: value.parse().ok()?,
    })
}

/// Reads an RFC 3339 time (`2026-11-27T06:00:12.345Z`, `…T06:00:12+01:00`, fractions of any
/// length) as written by [`Timestamp`]'s `Display` or by other tools.
pub(crate) fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
        let frac = &b[start..at.min(start + 3)];
        millis = frac.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0'));
        for _ in frac.len()..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(at)? {
        b'Z' | b'z' if at + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if at + 6 == b.len() && b.get(at + 3) == Some(&b':') => {
            let minutes = num(at + 1..at + 3)? * 60 + num(at + 4..at + 6)?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    // days-from-civil (Howard Hinnant), the inverse of Timestamp's Display
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    let total = secs.checked_mul(1000)?.checked_add(millis)?;
    u64::try_from(total).ok().map(Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use essensys_core::{action::Slot, Block};

    fn scene(guid: u128) -> Action {
        let mut block = Block::default();
        block.set_bits(Index::new(613).expect("index"), 64);
        Action {
            guid: Guid::from_random(guid),
            command: Command::Scene(block),
        }
    }

    #[test]
    fn stored_actions_are_the_wire_form_and_read_back() {
        let action = scene(7);
        let text = encode_action(&action);
        assert_eq!(text.len(), reply::action_len(&action));
        assert!(text.starts_with(r#"{"guid":"00000000-0000-4000-8000-000000000007","params":[{"k":590,"v":"1"},{"k":605,"v":"0"}"#));
        assert_eq!(decode_action(&text), Ok(action));
        let launch = r#"{ "guid": "g-1", "params": [ { "k": 590, "v": 5 } ] }"#;
        assert_eq!(
            decode_action(launch).map(|a| a.command),
            Ok(Command::Launch(Slot::new(5).expect("slot")))
        );
        assert!(decode_action(r#"{"guid":"g","params":[{"k":953,"v":"1"}]}"#).is_err());
        assert!(decode_action(r#"{"guid":"a/b","params":[{"k":349,"v":"1"}]}"#).is_err());
        assert!(decode_action("not json").is_err());
    }

    #[test]
    fn stored_alarm_orders_are_the_wire_form_and_read_back() {
        let alarm = AlarmOrder::new(Guid::from_random(9), "73;178;187".into()).expect("obl");
        let text = encode_alarm(&alarm);
        assert_eq!(
            text,
            r#"{"guid":"00000000-0000-4000-8000-000000000009","obl":"73;178;187"}"#
        );
        assert_eq!(text.len(), alarm.encoded_len());
        assert_eq!(decode_alarm(&text), Ok(alarm));
        for bad in [
            "",
            "null",
            r#"{"guid":"g1","obl":"1;2"} "#,
            r#"{ "guid":"g1","obl":"1;2"}"#,
            r#"{"obl":"1;2","guid":"g1"}"#,
            r#"{"guid":"g1"}"#,
            r#"{"guid":"","obl":"1;2"}"#,
            r#"{"guid":"g/1","obl":"1;2"}"#,
            r#"{"guid":"g1","obl":""}"#,
            r#"{"guid":"g1","obl":"1;x"}"#,
            r#"{"guid":"g1","obl":"1;2","x":"3"}"#,
            r#"{"guid":"g1","obl":"1","obl":"2"}"#,
        ] {
            assert!(decode_alarm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn legacy_elements_become_orders() {
        let (guid, order) =
            decode_legacy(r#"{"guid":"abc","params":[{"k":613,"v":"64"},{"k":"349","v":17}]}"#)
                .expect("legacy");
        assert_eq!(guid.as_deref(), Some("abc"));
        assert_eq!(
            order,
            Order::Cells(vec![
                RawCell {
                    k: 613,
                    v: "64".into()
                },
                RawCell {
                    k: 349,
                    v: "17".into()
                }
            ])
        );
        assert!(decode_legacy(r#"{"params":[{"k":"x","v":"1"}]}"#).is_err());
        assert!(decode_legacy(r#"[1,2]"#).is_err());
    }

    #[test]
    fn samples_and_times_read_back() {
        assert_eq!(
            decode_sample("1000:17"),
            Some(Sample {
                at: Timestamp(1000),
                value: Value::from(17)
            })
        );
        assert_eq!(decode_sample("1000:300"), None);
        for millis in [0, 951_782_400_000, 1_795_759_212_345, 4_102_444_800_999] {
            let t = Timestamp(millis);
            assert_eq!(parse_rfc3339(&t.to_string()), Some(t), "{t}");
        }
        assert_eq!(
            parse_rfc3339("2026-11-27T07:00:12+01:00"),
            Some(Timestamp(1_795_759_212_000))
        );
        assert_eq!(
            parse_rfc3339("2026-11-27T06:00:12.3456789Z"),
            Some(Timestamp(1_795_759_212_345))
        );
        assert_eq!(parse_rfc3339("2026-11-27"), None);
        assert_eq!(parse_rfc3339("2026-13-27T06:00:12Z"), None);
    }
}
