//! `Order::commands` on arbitrary cells (`Order::Cells(Vec<RawCell>)`, what the admin API and
//! MCP's `send_order` build), against a model of `essensys_core::order`'s documented rules.
//!
//! The cells are generated with `arbitrary`, biased towards the interesting ones: indices near
//! the table's end (953), the scenario cell 590, the block 605–622, the alarm (407–415) and the
//! remote key (922–937); values as bytes, numbers above 255, zero-padded decimals and any text.
//!
//! Checked: nothing panics; the order is accepted exactly when the model says (non-empty, each
//! cell's index < 953, value a decimal 0–255, cell writable and not protected, no index twice,
//! 590 = 1 only with masks, 590 = 2–8 only without), and refused with the error the model
//! names (kind, position or index); an accepted order gives commands of at most 30 params, all
//! indices < 953, writable and not protected, each a command the box understands
//! (`Command::from_params` round trip); the plain writes are the cells given outside 590 and
//! the block, in their order, in chunks of 30; the block cells become one scene whose masks are
//! the values given (0 elsewhere); 590 = N alone is one launch of slot N.

#![no_main]

use essensys_core::{
    action::MAX_PARAMS,
    catalog::{self, in_block, BLOCK_START, SCENARIO},
    order::{OrderError, RawCell},
    Command, Index, Order, Param, Value,
};
use libfuzzer_sys::{
    arbitrary::{self, Arbitrary},
    fuzz_target,
};

#[derive(Arbitrary, Debug)]
enum K {
    /// 0–1023: the whole table and a little beyond.
    Small(u16),
    /// Anything.
    Any(u64),
    /// 605–622.
    Block(u8),
    /// 590.
    Scenario,
    /// 400–419 (the alarm and around).
    Alarm(u8),
    /// 920–939 (the remote key and around).
    Key(u8),
}

#[derive(Arbitrary, Debug)]
enum V {
    Byte(u8),
    Number(u32),
    /// Some zeros, then a byte.
    Padded(u8, u8),
    Text(String),
}

#[derive(Arbitrary, Debug)]
struct Cell {
    k: K,
    v: V,
}

impl Cell {
    fn raw(&self) -> RawCell {
        let k = match self.k {
            K::Small(n) => u64::from(n % 1024),
            K::Any(n) => n,
            K::Block(n) => 605 + u64::from(n % 18),
            K::Scenario => 590,
            K::Alarm(n) => 400 + u64::from(n % 20),
            K::Key(n) => 920 + u64::from(n % 20),
        };
        let v = match &self.v {
            V::Byte(b) => b.to_string(),
            V::Number(n) => n.to_string(),
            V::Padded(zeros, b) => format!("{}{b}", "0".repeat(usize::from(zeros % 12))),
            V::Text(t) => t.clone(),
        };
        RawCell { k, v }
    }
}

fuzz_target!(|cells: Vec<Cell>| {
    let cells: Vec<RawCell> = cells.iter().map(Cell::raw).collect();
    check(&cells);
});

/// What the model expects of a refused order.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Empty,
    Cell(usize),
    NotWritable(u16),
    Protected(u16),
    Duplicate(u16),
    Slot(u8),
    LaunchWithMasks(u8),
    SceneWithoutMasks,
}

fn refusal(error: &OrderError) -> Refusal {
    match error {
        OrderError::Empty => Refusal::Empty,
        OrderError::Cell { position, .. } => Refusal::Cell(*position),
        OrderError::NotWritable { index, .. } => Refusal::NotWritable(*index),
        OrderError::Protected { index, .. } => Refusal::Protected(*index),
        OrderError::Duplicate(index) => Refusal::Duplicate(*index),
        OrderError::Slot(n) => Refusal::Slot(*n),
        OrderError::LaunchWithMasks(n) => Refusal::LaunchWithMasks(*n),
        OrderError::SceneWithoutMasks => Refusal::SceneWithoutMasks,
        other => panic!("an order of cells refused with {other:?}"),
    }
}

/// The model: the checked params, or why the order is refused.
fn model(cells: &[RawCell]) -> Result<Vec<Param>, Refusal> {
    if cells.is_empty() {
        return Err(Refusal::Empty);
    }
    let mut params: Vec<Param> = Vec::new();
    for (n, raw) in cells.iter().enumerate() {
        let position = n + 1;
        let index = Index::try_from(raw.k).map_err(|_| Refusal::Cell(position))?;
        let value: Value = raw.v.parse().map_err(|_| Refusal::Cell(position))?;
        // The value parser's own rule, independently: 1–9 ASCII digits, at most 255.
        let digits =
            !raw.v.is_empty() && raw.v.len() <= 9 && raw.v.bytes().all(|b| b.is_ascii_digit());
        assert!(
            digits && raw.v.parse::<u32>() == Ok(u32::from(value.get())),
            "{:?} parsed as {value}",
            raw.v
        );
        if !index.info().access.writable() {
            return Err(Refusal::NotWritable(index.get()));
        }
        if catalog::protection(index).is_some() {
            return Err(Refusal::Protected(index.get()));
        }
        if params.iter().any(|p| p.index == index) {
            return Err(Refusal::Duplicate(index.get()));
        }
        params.push(Param::new(index, value));
    }
    let launch = params
        .iter()
        .find(|p| p.index == SCENARIO)
        .map(|p| p.value.get());
    let masks = params.iter().any(|p| in_block(p.index));
    match (launch, masks) {
        (Some(1), false) => Err(Refusal::SceneWithoutMasks),
        (Some(n), true) if n != 1 => Err(Refusal::LaunchWithMasks(n)),
        (Some(n), false) if !(2..=8).contains(&n) => Err(Refusal::Slot(n)),
        _ => Ok(params),
    }
}

fn check(cells: &[RawCell]) {
    let order = Order::Cells(cells.to_vec());
    let got = order.commands();
    let params = match (model(cells), &got) {
        (Ok(params), Ok(_)) => params,
        (Err(expected), Err(error)) => {
            assert_eq!(refusal(error), expected, "{error}");
            return;
        }
        (expected, got) => panic!("model {expected:?}, commands {got:?} for {cells:?}"),
    };
    let commands = got.expect("accepted");

    for command in &commands {
        let sent = command.params();
        assert!(!sent.is_empty() && sent.len() <= MAX_PARAMS, "{command:?}");
        for p in &sent {
            assert!(p.index.get() < 953);
            assert!(p.index.info().access.writable());
            assert!(catalog::protection(p.index).is_none());
        }
        assert_eq!(Command::from_params(&sent).as_ref(), Ok(command));
    }

    let writes: Vec<Param> = params
        .iter()
        .copied()
        .filter(|p| p.index != SCENARIO && !in_block(p.index))
        .collect();
    let sent_writes: Vec<&[Param]> = commands
        .iter()
        .filter_map(|c| match c {
            Command::Write(w) => Some(w.params()),
            _ => None,
        })
        .collect();
    assert_eq!(sent_writes.concat(), writes, "the plain writes, in order");
    assert_eq!(sent_writes.len(), writes.len().div_ceil(MAX_PARAMS));
    assert!(sent_writes.iter().all(|w| !w.is_empty()));

    let others: Vec<&Command> = commands
        .iter()
        .filter(|c| !matches!(c, Command::Write(_)))
        .collect();
    let launch = params
        .iter()
        .find(|p| p.index == SCENARIO)
        .map(|p| p.value.get());
    let block: Vec<Param> = params
        .iter()
        .copied()
        .filter(|p| in_block(p.index))
        .collect();
    match others.as_slice() {
        [] => assert!(block.is_empty() && launch.is_none()),
        [Command::Scene(scene)] => {
            assert!(!block.is_empty());
            assert!(launch.is_none_or(|n| n == 1));
            let mut masks = [0u8; 18];
            for p in &block {
                masks[usize::from(p.index.get() - BLOCK_START.get())] = p.value.get();
            }
            assert_eq!(scene.masks(), masks);
        }
        [Command::Launch(slot)] => {
            assert!(block.is_empty());
            assert_eq!(launch, Some(slot.get()));
        }
        more => panic!("more than one scene or launch: {more:?}"),
    }
}
