//! Decodes a `mystatus` body as the box posts it and prints each cell as `index name = value`,
//! with the firmware's names from the catalog.
//!
//! ```text
//! cargo run -p essensys-core --example decode_status -- [FILE]
//! ```
//!
//! FILE holds the body alone (default: `fixtures/status/firmware.txt`); a captured request
//! (`fixtures/box/mystatus.http`) works too, its head is skipped. The body is read leniently,
//! as the gateway reads it: every good cell is printed, then each error with its byte offset.
//! Exits 1 when the file cannot be read, 2 when the body had errors.

use std::{path::PathBuf, process::ExitCode};

use essensys_core::status;

/// The firmware's own status body, from the repository's fixtures.
const DEFAULT_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fixtures/status/firmware.txt"
);

fn main() -> ExitCode {
    let path = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from(DEFAULT_FILE), PathBuf::from);
    let file = match std::fs::read(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let body = body_of(&file);

    let report = status::parse_lenient(body);
    println!("version {}", report.version.unwrap_or("(not read)"));
    for param in &report.params {
        let info = param.index.info();
        println!("{} {} = {}", param.index, info.name, param.value);
    }
    for error in &report.errors {
        println!("error: {error}");
        if let Some(offset) = error.offset() {
            println!("{}", around(body, offset));
        }
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// The body of a captured request (after its blank line), or the whole file.
fn body_of(file: &[u8]) -> &[u8] {
    if !file.starts_with(b"POST ") {
        return file;
    }
    file.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(file, |end| &file[end + 4..])
}

/// Up to 24 bytes either side of `offset`, with a caret under the offending byte.
fn around(body: &[u8], offset: usize) -> String {
    let start = offset.saturating_sub(24);
    let end = body.len().min(offset + 24);
    let before = String::from_utf8_lossy(&body[start..offset.min(end)]);
    let after = String::from_utf8_lossy(&body[offset.min(end)..end]);
    let flat = |s: &str| s.replace(['\r', '\n', '\t'], " ");
    format!(
        "  {}{}\n  {}^ byte {offset}",
        flat(&before),
        flat(&after),
        " ".repeat(before.chars().count())
    )
}
