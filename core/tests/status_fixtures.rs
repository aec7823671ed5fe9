//! Snapshots of the status parser on the bodies in `fixtures/status/`: each fixture is parsed
//! strictly and leniently, and both results are rendered as text.

use std::fmt::Write as _;
use std::path::PathBuf;

use essensys_core::status::{parse, parse_lenient, StatusError};
use essensys_core::Param;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/status");

/// The fixtures this file snapshots; `every_status_fixture_is_snapshotted` keeps it complete.
const NAMES: &[&str] = &[
    "firmware",
    "empty",
    "old-tool",
    "quoted-json",
    "whitespace",
    "garbled",
    "bad-value",
    "index-953",
];

fn read(name: &str) -> Vec<u8> {
    let path = PathBuf::from(FIXTURES).join(format!("{name}.txt"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn params(out: &mut String, params: &[Param]) {
    if params.is_empty() {
        out.push_str("params: (none)\n");
    } else {
        out.push_str("params:\n");
        for p in params {
            let _ = writeln!(out, "  {}={}", p.index, p.value);
        }
    }
}

fn errors(out: &mut String, errors: &[StatusError]) {
    if errors.is_empty() {
        out.push_str("errors: (none)\n");
    } else {
        out.push_str("errors:\n");
        for e in errors {
            let _ = writeln!(out, "  {e}");
        }
    }
}

/// Both parses of a fixture, as readable text.
fn render(name: &str) -> String {
    let body = read(name);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "body ({} bytes): {:?}",
        body.len(),
        String::from_utf8_lossy(&body)
    );

    out.push_str("\n== parse\n");
    match parse(&body) {
        Ok(report) => {
            let _ = writeln!(out, "version: {:?}", report.version);
            params(&mut out, &report.params);
        }
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
        }
    }

    out.push_str("\n== parse_lenient\n");
    let report = parse_lenient(&body);
    match report.version {
        Some(version) => {
            let _ = writeln!(out, "version: {version:?}");
        }
        None => out.push_str("version: (none)\n"),
    }
    params(&mut out, &report.params);
    errors(&mut out, &report.errors);
    out
}

macro_rules! fixture_tests {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                insta::assert_snapshot!($name, render($name));
            }
        )*
    };
}

fixture_tests! {
    status_firmware => "firmware",
    status_empty => "empty",
    status_old_tool => "old-tool",
    status_quoted_json => "quoted-json",
    status_whitespace => "whitespace",
    status_garbled => "garbled",
    status_bad_value => "bad-value",
    status_index_953 => "index-953",
}

#[test]
fn every_status_fixture_is_snapshotted() {
    let mut found: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixtures/status exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".txt").map(str::to_string)
        })
        .collect();
    found.sort();
    let mut listed: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn status_fixtures_have_no_trailing_newline() {
    for name in NAMES {
        let body = read(name);
        assert_ne!(body.last(), Some(&b'\n'), "{name}.txt ends with a newline");
    }
}
