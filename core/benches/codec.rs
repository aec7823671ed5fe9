//! Cost of the box's hot path in core: parsing a status report and encoding a `myactions` reply.
//! Run with `cargo bench -p essensys-core`; criterion prints ns per operation.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use essensys_core::{
    action::Slot,
    reply::{self, ServerInfos, BOX_READ_LIMIT},
    status, Action, Block, Command, Guid, Index,
};

/// A full 30-item report in the firmware's form.
fn firmware_report() -> Vec<u8> {
    let mut body = br#"{"version":"V37","ek":["#.to_vec();
    for (n, k) in (349..379).enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(format!(r#"{{k:{k},v:"{}"}}"#, n * 7).as_bytes());
    }
    body.extend_from_slice(b"]}");
    body
}

fn parse(c: &mut Criterion) {
    let firmware = firmware_report();
    c.bench_function("status::parse firmware 30 items", |b| {
        b.iter(|| status::parse(black_box(&firmware)).map(|r| r.params.len()))
    });
    let quoted = String::from_utf8_lossy(&firmware)
        .replace("{k:", r#"{"k":"#)
        .replace(",v:", r#","v":"#);
    c.bench_function("status::parse quoted JSON 30 items", |b| {
        b.iter(|| status::parse(black_box(quoted.as_bytes())).map(|r| r.params.len()))
    });
}

fn encode(c: &mut Criterion) {
    let mut block = Block::default();
    block.set_bits(Index::new(613).expect("index"), 64);
    let actions: Vec<Action> = (0..5u128)
        .map(|n| Action {
            guid: Guid::from_random(n),
            command: if n % 2 == 0 {
                Command::Scene(block)
            } else {
                Command::Launch(Slot::new(3).expect("slot"))
            },
        })
        .collect();
    let mut out = Vec::with_capacity(BOX_READ_LIMIT);
    c.bench_function("reply::encode_actions 5 pending, budget 1380", |b| {
        b.iter(|| {
            out.clear();
            reply::encode_actions(&mut out, None, black_box(&actions), 1380)
        })
    });
    let infos = ServerInfos::new(
        true,
        (349..379).filter_map(|i| Index::new(i).ok()).collect(),
    )
    .expect("30 infos");
    c.bench_function("reply::ServerInfos::encode 30 infos", |b| {
        b.iter(|| {
            out.clear();
            black_box(&infos).encode(&mut out);
        })
    });
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
