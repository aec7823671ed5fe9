//! Embeds the exchange-table and device catalogs (`data/*.csv`) into the crate at build time, so
//! that `essensys-core` never reads a file at run time. Any malformed row fails the build.

use std::{env, fmt::Write as _, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=data/exchange-table.csv");
    println!("cargo:rerun-if-changed=data/devices.csv");
    let mut out = String::new();
    write_indices(&mut out);
    write_devices(&mut out);
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR set by cargo")).join("catalog.rs");
    fs::write(dest, out).expect("write catalog.rs");
}

fn rows(file: &str, columns: usize) -> Vec<Vec<String>> {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("read {file}: {e}"));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let cells: Vec<String> = line.split(',').map(|c| c.trim().to_string()).collect();
            assert_eq!(
                cells.len(),
                columns,
                "{file} row {}: expected {columns} columns",
                n + 2
            );
            cells
        })
        .collect()
}

fn write_indices(out: &mut String) {
    let rows = rows("data/exchange-table.csv", 3);
    assert_eq!(rows.len(), 953, "the exchange table has 953 cells");
    out.push_str("/// Every cell of the exchange table, by index.\n");
    out.push_str("pub(crate) static INDEX_INFO: [IndexInfo; 953] = [\n");
    for (expected, row) in rows.iter().enumerate() {
        let index: usize = row[0].parse().expect("numeric index");
        assert_eq!(
            index, expected,
            "exchange-table.csv must list indices 0..=952 in order"
        );
        let access = match row[2].as_str() {
            "R" => "Read",
            "W" => "Write",
            "RW" => "ReadWrite",
            "RWS" => "ReadWriteSaved",
            "-" => "None",
            other => panic!("index {index}: unknown access {other:?}"),
        };
        writeln!(
            out,
            "    IndexInfo {{ name: {:?}, access: Access::{access} }},",
            row[1]
        )
        .expect("write to a String");
    }
    out.push_str("];\n\n");
}

fn write_devices(out: &mut String) {
    let rows = rows("data/devices.csv", 7);
    out.push_str("/// Every light, dimmer, shutter and the awning.\n");
    writeln!(
        out,
        "pub(crate) static DEVICES: [Device; {}] = [",
        rows.len()
    )
    .expect("write to a String");
    for row in &rows {
        let kind = match row[0].as_str() {
            "light" => "Light",
            "dimmer" => "Dimmer",
            "shutter" => "Shutter",
            "awning" => "Awning",
            other => panic!("unknown device kind {other:?}"),
        };
        let group = match row[3].as_str() {
            "PDV" => "Pdv",
            "CHB" => "Chb",
            "PDE" => "Pde",
            other => panic!("unknown group {other:?}"),
        };
        let on: u16 = row[4].parse().expect("on/open index");
        let off: u16 = row[5].parse().expect("off/close index");
        let bit: u8 = row[6].parse().expect("bit");
        assert!(
            (605..=622).contains(&on) && (605..=622).contains(&off),
            "masks live in 605..=622"
        );
        assert!(bit.is_power_of_two(), "bit {bit} is a single bit");
        writeln!(
            out,
            "    Device {{ kind: DeviceKind::{kind}, id: {:?}, label: {:?}, group: Group::{group}, \
             on_or_open: Index({on}), off_or_close: Index({off}), bit: {bit} }},",
            row[1], row[2]
        )
        .expect("write to a String");
    }
    out.push_str("];\n");
}
