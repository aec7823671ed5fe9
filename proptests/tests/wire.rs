//! Laws of the wire formats: the status parser and the `myactions` encoder.

use essensys_core::{
    action::{Block, Command, Slot, Writes},
    codec,
    reply::{self, AlarmOrder},
    status, Action, Guid, Index, Param, Value,
};
use proptest::prelude::*;

fn param() -> impl Strategy<Value = Param> {
    (0u16..953, any::<u8>())
        .prop_map(|(i, v)| Param::new(Index::new(i).expect("in range"), Value(v)))
}

/// Renders a report as the firmware does (unquoted item keys) or as quoted JSON with spaces.
fn render(version: &str, params: &[Param], quoted: bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(if quoted {
        b"{ \"version\" : \""
    } else {
        b"{\"version\":\""
    });
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(if quoted {
        b"\",\n \"ek\" : [ "
    } else {
        b"\",\"ek\":["
    });
    for (n, p) in params.iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(if quoted { b" ,\t" } else { b"," });
        }
        out.extend_from_slice(if quoted { b"{\"k\": " } else { b"{k:" });
        codec::push_decimal(&mut out, u32::from(p.index.get()));
        out.extend_from_slice(if quoted { b" , \"v\": \"" } else { b",v:\"" });
        codec::encode_reported(p.index, p.value, &mut out);
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(if quoted { b" ] }\r\n" } else { b"]}" });
    out
}

/// A strict parser of the grammar the firmware accepts in `myactions` (legacy-protocol §3.3):
/// `{"_de67f":null|{"guid":"…","obl":"…"},"actions":[{"guid":"…","params":[{"k":D,"v":"D"},…]},…]}`
/// with k < 953, v ≤ 255, 1–30 params, no whitespace. Returns the actions it read.
/// An action as the firmware reads it: guid and `(k, v)` params.
type ReadAction = (String, Vec<(u32, u32)>);

fn firmware_accepts(body: &[u8]) -> Result<Vec<ReadAction>, String> {
    let mut s = body;
    fn eat(s: &mut &[u8], lit: &[u8]) -> Result<(), String> {
        s.strip_prefix(lit).map(|rest| *s = rest).ok_or_else(|| {
            format!(
                "expected {:?} at {:?}",
                String::from_utf8_lossy(lit),
                String::from_utf8_lossy(&s[..s.len().min(20)])
            )
        })
    }
    fn digits(s: &mut &[u8]) -> Result<u32, String> {
        let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 3 {
            return Err("expected 1-3 digits".into());
        }
        let v = std::str::from_utf8(&s[..n])
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e: std::num::ParseIntError| e.to_string())?;
        *s = &s[n..];
        Ok(v)
    }
    fn guid(s: &mut &[u8]) -> Result<String, String> {
        let n = s
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        let g = String::from_utf8_lossy(&s[..n]).into_owned();
        *s = &s[n..];
        Ok(g)
    }
    eat(&mut s, b"{\"_de67f\":")?;
    if eat(&mut s, b"null").is_err() {
        eat(&mut s, b"{\"guid\":\"")?;
        guid(&mut s)?;
        eat(&mut s, b"\",\"obl\":\"")?;
        let n = s
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b';')
            .count();
        s = &s[n..];
        eat(&mut s, b"\"}")?;
    }
    eat(&mut s, b",\"actions\":[")?;
    let mut actions = Vec::new();
    if eat(&mut s, b"]").is_err() {
        loop {
            eat(&mut s, b"{\"guid\":\"")?;
            let g = guid(&mut s)?;
            eat(&mut s, b"\",\"params\":[")?;
            let mut params = Vec::new();
            loop {
                eat(&mut s, b"{\"k\":")?;
                let k = digits(&mut s)?;
                eat(&mut s, b",\"v\":\"")?;
                let v = digits(&mut s)?;
                eat(&mut s, b"\"}")?;
                if k >= 953 || v > 255 {
                    return Err(format!("k={k} v={v} out of range"));
                }
                params.push((k, v));
                if eat(&mut s, b",").is_err() {
                    break;
                }
            }
            eat(&mut s, b"]}")?;
            if params.len() > 30 {
                return Err("more than 30 params".into());
            }
            actions.push((g, params));
            if eat(&mut s, b",").is_err() {
                break;
            }
        }
        eat(&mut s, b"]")?;
    }
    eat(&mut s, b"}")?;
    if s.is_empty() {
        Ok(actions)
    } else {
        Err("trailing bytes".into())
    }
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        prop::array::uniform18(any::<u8>()).prop_map(|m| Command::Scene(Block::from_masks(m))),
        (2u8..=8).prop_map(|n| Command::Launch(Slot::new(n).expect("slot"))),
        prop::collection::vec(param(), 1..=30).prop_filter_map("plain writes only", |p| {
            Writes::new(p).ok().map(Command::Write)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any report rendered in the firmware form or as spaced, quoted JSON parses back exactly.
    #[test]
    fn status_round_trips(version in "V?[0-9]{1,3}", params in prop::collection::vec(param(), 0..60), quoted in any::<bool>()) {
        let body = render(&version, &params, quoted);
        let report = status::parse(&body).map_err(|e| TestCaseError::fail(format!("{e} in {}", String::from_utf8_lossy(&body))))?;
        prop_assert_eq!(report.version, version.trim_start_matches('V'));
        prop_assert_eq!(report.params, params);
    }

    /// Arbitrary bytes never panic either parser, and the lenient one reads a subset of what it can.
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let strict = status::parse(&body);
        let lenient = status::parse_lenient(&body);
        if let Ok(report) = strict {
            prop_assert_eq!(report.params, lenient.params);
            prop_assert!(lenient.errors.is_empty());
        } else {
            prop_assert!(!lenient.errors.is_empty());
        }
    }

    /// Truncating or corrupting a valid report never panics; what the lenient parser keeps is a
    /// prefix of the original items (or the original minus bad items).
    #[test]
    fn damaged_reports_keep_a_prefix(params in prop::collection::vec(param(), 1..30), cut in any::<prop::sample::Index>(), junk in any::<u8>()) {
        let mut body = render("V37", &params, false);
        let at = cut.index(body.len());
        body.truncate(at);
        body.push(junk);
        let lenient = status::parse_lenient(&body);
        prop_assert!(lenient.params.len() <= params.len());
        prop_assert_eq!(&lenient.params[..], &params[..lenient.params.len()]);
    }

    /// The encoder packs whole actions, first come first served, within the budget, and the
    /// firmware's grammar accepts what it writes.
    #[test]
    fn myactions_fit_the_budget_whole(
        commands in prop::collection::vec(command(), 0..8),
        budget in 200usize..3000,
        with_alarm in any::<bool>(),
    ) {
        let actions: Vec<Action> = commands.into_iter().enumerate()
            .map(|(n, command)| Action { guid: Guid::from_random(n as u128 * 7919), command })
            .collect();
        let alarm = with_alarm.then(|| AlarmOrder::new(Guid::from_random(1), "1;22;255".into()).expect("obl"));
        let mut out = Vec::new();
        let packed = reply::encode_actions(&mut out, alarm.as_ref(), &actions, budget);
        prop_assert!(out.len() <= budget, "{} > {budget}", out.len());
        let read = firmware_accepts(&out).map_err(TestCaseError::fail)?;
        prop_assert_eq!(read.len(), packed);
        for (action, (guid, params)) in actions.iter().zip(&read) {
            prop_assert_eq!(action.guid.as_str(), guid.as_str());
            let expected: Vec<(u32, u32)> = action.command.params().iter().map(|p| (u32::from(p.index.get()), u32::from(p.value.get()))).collect();
            prop_assert_eq!(&expected, params);
        }
        // maximal: the next action would not have fitted
        if let Some(next) = actions.get(packed) {
            prop_assert!(out.len() + reply::action_len(next) + usize::from(packed > 0) > budget);
        }
    }
}
