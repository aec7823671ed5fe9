//! `essensys_core::status`: the strict and the lenient parser of `mystatus` bodies, on any bytes.
//!
//! Checked against the module's documented contract (its docs and its own tests):
//! - neither parser panics;
//! - a body over `MAX_BODY` is `TooLarge` (strict) and nothing but that error (lenient);
//! - every error offset points into the body: `Syntax` at most at its length (the end when it
//!   ended too soon), `Index` at an ASCII digit, `Value` at its opening quote or first digit,
//!   with the value's length and excerpt taken from there;
//! - strict `Ok` ⇒ lenient clean, with the same version and params; strict `Err(e)` ⇒ `e` is the
//!   lenient report's first error;
//! - lenient errors come in body order, only the last may be a syntax/size error, the others
//!   are item errors (`Index`, `Value`); no more than `MAX_ITEMS` items; every index < 953;
//! - the version is borrowed from the body, has no `"`, `\` or control character;
//! - what the lenient parser keeps is what lies before its stop: the body cut at its syntax
//!   error gives the same params and item errors, and any prefix gives a prefix of them (a
//!   strictly valid body cut before its closing `}` is refused);
//! - a strict report written back in the canonical form parses to the same report.

#![no_main]

use essensys_core::status::{
    parse, parse_lenient, LenientReport, StatusError, MAX_BODY, MAX_ITEMS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| check(body));

fn check(body: &[u8]) {
    let strict = parse(body);
    let lenient = parse_lenient(body);

    if body.len() > MAX_BODY {
        let too_large = StatusError::TooLarge { len: body.len() };
        assert_eq!(strict, Err(too_large.clone()));
        assert_eq!(lenient.errors, vec![too_large]);
        assert!(lenient.version.is_none() && lenient.params.is_empty());
        return;
    }

    for error in lenient.errors.iter().chain(strict.as_ref().err()) {
        check_error(body, error);
    }
    check_lenient(body, &lenient);

    match &strict {
        Ok(report) => {
            assert!(
                lenient.is_clean(),
                "strict Ok but lenient {:?}",
                lenient.errors
            );
            assert_eq!(lenient.version, Some(report.version));
            assert_eq!(lenient.params, report.params);
            let trimmed = body.trim_ascii();
            assert_eq!(trimmed.first(), Some(&b'{'));
            assert_eq!(trimmed.last(), Some(&b'}'));
            round_trip(report.version, &report.params);
        }
        Err(error) => {
            assert_eq!(
                lenient.errors.first(),
                Some(error),
                "strict and lenient disagree"
            );
        }
    }

    // Cut at the lenient parser's stop: everything it kept was read before it.
    if let Some(StatusError::Syntax { offset, .. }) = lenient.errors.last() {
        let cut = parse_lenient(&body[..*offset]);
        assert_eq!(
            cut.params, lenient.params,
            "cut at the syntax error, {offset}"
        );
        assert_eq!(item_errors(&cut), item_errors(&lenient));
        if lenient.version.is_some() {
            assert_eq!(cut.version, lenient.version);
        }
    }

    // Any prefix (one chosen by the body's hash) keeps a prefix of what the whole body gives.
    let n = (hash(body) % (body.len() as u64 + 1)) as usize;
    let prefix = parse_lenient(&body[..n]);
    check_lenient(&body[..n], &prefix);
    assert!(
        lenient.params.starts_with(&prefix.params),
        "prefix {n}: {:?} not a prefix of {:?}",
        prefix.params,
        lenient.params
    );
    assert!(item_errors(&lenient).starts_with(&item_errors(&prefix)));
    if let Some(version) = prefix.version {
        assert_eq!(lenient.version, Some(version));
    }
    if strict.is_ok() && n < body.trim_ascii_end().len() {
        let error = parse(&body[..n]).expect_err("a valid body cut before its end");
        assert!(
            error.offset().is_some_and(|at| at <= n),
            "{error:?} for a prefix of {n}"
        );
    }
}

/// Where each error points, as the module's docs say.
fn check_error(body: &[u8], error: &StatusError) {
    match error {
        StatusError::TooLarge { .. } => panic!("TooLarge for {} bytes", body.len()),
        StatusError::TooManyItems => {}
        StatusError::Syntax { offset, expected } => {
            assert!(
                *offset <= body.len(),
                "syntax offset {offset} > {}",
                body.len()
            );
            assert!(!expected.is_empty());
        }
        StatusError::Index { offset, index } => {
            assert!(
                *offset < body.len(),
                "index offset {offset} ≥ {}",
                body.len()
            );
            assert!(
                body[*offset].is_ascii_digit(),
                "index offset {offset} not at a digit"
            );
            assert!(*index >= 953, "index error for {index}");
            let digits: Vec<u8> = body[*offset..]
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            let read = digits.iter().fold(0u64, |n, d| {
                n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            });
            assert_eq!(read, *index, "index error at {offset}");
        }
        StatusError::Value {
            offset,
            index,
            text,
            len,
        } => {
            assert!(
                *offset < body.len(),
                "value offset {offset} ≥ {}",
                body.len()
            );
            assert!(*index < 953);
            let raw = match body[*offset] {
                b'"' => {
                    let start = offset + 1;
                    assert!(
                        start + len < body.len(),
                        "value of {len} bytes runs past the body"
                    );
                    assert_eq!(
                        body[start + len],
                        b'"',
                        "value not closed where its length says"
                    );
                    &body[start..start + len]
                }
                d if d.is_ascii_digit() => {
                    let raw = &body[*offset..offset + len];
                    assert!(raw.iter().all(u8::is_ascii_digit));
                    raw
                }
                other => panic!("value offset {offset} at {other:#04x}"),
            };
            assert!(!raw.contains(&b'"'));
            let whole = String::from_utf8_lossy(raw);
            let kept = text.strip_suffix('…').unwrap_or(text);
            assert!(whole.starts_with(kept), "excerpt {text:?} of {whole:?}");
            assert!(text.chars().count() <= 33);
        }
    }
}

fn check_lenient(body: &[u8], report: &LenientReport<'_>) {
    if let Some(version) = report.version {
        borrowed_from(body, version);
        assert!(!version.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20));
    }
    let last = report.errors.len().saturating_sub(1);
    let mut previous = 0;
    for (n, error) in report.errors.iter().enumerate() {
        let item = matches!(error, StatusError::Index { .. } | StatusError::Value { .. });
        assert!(
            item || n == last,
            "a stop that is not the last error: {:?}",
            report.errors
        );
        if let Some(at) = error.offset() {
            assert!(at >= previous, "errors out of order: {:?}", report.errors);
            previous = at;
        }
    }
    if report
        .errors
        .last()
        .is_some_and(|e| matches!(e, StatusError::Index { .. } | StatusError::Value { .. }))
        || report.errors.is_empty()
    {
        // Read to the end: both members were.
        assert!(
            report.version.is_some(),
            "a whole body without version: {report:?}"
        );
    }
    assert!(report.params.len() + item_errors(report).len() <= MAX_ITEMS);
    assert!(report.params.iter().all(|p| p.index.get() < 953));
}

fn item_errors(report: &LenientReport<'_>) -> Vec<StatusError> {
    report
        .errors
        .iter()
        .filter(|e| matches!(e, StatusError::Index { .. } | StatusError::Value { .. }))
        .cloned()
        .collect()
}

fn borrowed_from(body: &[u8], text: &str) {
    let (start, end) = (body.as_ptr() as usize, body.as_ptr() as usize + body.len());
    let at = text.as_ptr() as usize;
    assert!(
        text.is_empty() || (at >= start && at + text.len() <= end),
        "version not borrowed from the body"
    );
}

/// The canonical form of a report parses back to it.
fn round_trip(version: &str, params: &[essensys_core::Param]) {
    let mut body = format!(r#"{{"version":"V{version}","ek":["#);
    for (n, p) in params.iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&format!(r#"{{k:{},v:"{}"}}"#, p.index.get(), p.value.get()));
    }
    body.push_str("]}");
    if body.len() > MAX_BODY {
        return;
    }
    let again = parse(body.as_bytes()).unwrap_or_else(|e| panic!("canonical {body:?}: {e}"));
    assert_eq!(again.version, version);
    assert_eq!(again.params, params);
}

/// FNV-1a: a cut point that moves with the input, reproducibly.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
