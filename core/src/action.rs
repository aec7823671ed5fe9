//! What the box gets: an [`Action`] is a [`Guid`] plus a [`Command`], rendered on the wire as
//! `{"guid":"…","params":[{"k":590,"v":"1"},…]}`.
//!
//! A [`Command`] is one of three shapes the firmware understands, and no other:
//! - [`Command::Scene`] ("Mode B"): `590 = 1` plus the whole light/shutter [`Block`] 605–622 —
//!   the box re-applies slot 1's stored masks every time 590 = 1 runs, so a partial block would
//!   replay stale masks;
//! - [`Command::Launch`] ("Mode A"): `590 = N` alone, running stored scenario slot N (2–8);
//! - [`Command::Write`]: plain writes (1–30 params, never 590 nor 605–622).

use std::{fmt, sync::Arc};

use thiserror::Error;

use crate::{
    catalog::{in_block, BLOCK_LEN, BLOCK_START, SCENARIO},
    cell::{Index, Param, Value},
};

/// The most params one action may carry: the firmware's array has 30 slots and no bound check.
pub const MAX_PARAMS: usize = 30;

/// The id of an action, acknowledged by the box with `POST /api/done/<guid>`.
///
/// The box copies it verbatim into a URL path, so it is restricted to 1–64 characters of
/// `[A-Za-z0-9-]` (a UUID in practice). Cloning is cheap.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(Arc<str>);

/// A text that cannot be an action's guid.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("guid {0:?} is not 1-64 characters of letters, digits and '-'")]
pub struct InvalidGuid(pub String);

impl Guid {
    /// Checks and wraps a guid.
    pub fn new(raw: &str) -> Result<Self, InvalidGuid> {
        let valid = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(Self(raw.into()))
        } else {
            Err(InvalidGuid(raw.chars().take(80).collect()))
        }
    }

    /// Formats 128 random bits as a version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
    pub fn from_random(bits: u128) -> Self {
        let bits = (bits & !(0xF000 << 64) | (0x4000 << 64)) & !(0xC000 << 48) | (0x8000 << 48);
        let hex = format!("{bits:032x}");
        let text = format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        Self(text.into())
    }

    /// The guid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({})", self.0)
    }
}

/// The server scenario's light and shutter masks, cells 605–622.
///
/// | cells | meaning |
/// |---|---|
/// | 605–610 | switch-off masks: PDV LSB/MSB, CHB LSB/MSB, PDE LSB/MSB |
/// | 611–616 | switch-on masks, same order |
/// | 617–619 | open shutters PDV, CHB, PDE |
/// | 620–622 | close shutters PDV, CHB, PDE |
///
/// Each device has one bit in a *pair* of masks (off/on, or open/close at the same position).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Block([u8; BLOCK_LEN]);

/// The mask pairs of the block as `(off_or_close, on_or_open)` offsets from 605: six light pairs
/// (605/611 … 610/616) and three shutter pairs (620/617 … 622/619).
pub const PAIRS: [(usize, usize); 9] = [
    (0, 6),
    (1, 7),
    (2, 8),
    (3, 9),
    (4, 10),
    (5, 11),
    (15, 12),
    (16, 13),
    (17, 14),
];

impl Block {
    /// A block from the 18 mask bytes 605–622.
    pub const fn from_masks(masks: [u8; BLOCK_LEN]) -> Self {
        Self(masks)
    }

    /// The 18 mask bytes, 605 first.
    pub const fn masks(&self) -> [u8; BLOCK_LEN] {
        self.0
    }

    /// The mask held for `index`, if it lies in 605–622.
    pub fn get(&self, index: Index) -> Option<u8> {
        in_block(index).then(|| self.0[usize::from(index.get() - BLOCK_START.get())])
    }

    /// ORs `bits` into the mask at `index`; `false` (and no change) outside 605–622.
    pub fn set_bits(&mut self, index: Index, bits: u8) -> bool {
        if !in_block(index) {
            return false;
        }
        self.0[usize::from(index.get() - BLOCK_START.get())] |= bits;
        true
    }

    /// Whether no mask has a bit set (running it changes nothing).
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&m| m == 0)
    }

    /// The block that does what `self` then `later` do, or `None` when merging could change
    /// the outcome.
    ///
    /// Merging ORs every mask. For each device, let A and B be the commands (a subset of
    /// {off, on} or {close, open}) that `self` and `later` give it. Run one after the other, the
    /// device ends as B says if B is not empty, else as A says. Merged, it ends as A ∪ B says.
    /// Those agree exactly when A is empty, B is empty, or A ⊆ B — otherwise (a lamp switched on
    /// by one and off by the other) the two must stay separate actions, in order.
    pub fn merged(&self, later: &Block) -> Option<Block> {
        for (off, on) in PAIRS {
            let (a_off, a_on) = (self.0[off], self.0[on]);
            let (b_off, b_on) = (later.0[off], later.0[on]);
            let touched_by_b = b_off | b_on;
            if touched_by_b & ((a_off & !b_off) | (a_on & !b_on)) != 0 {
                return None;
            }
        }
        let mut out = *self;
        for (m, l) in out.0.iter_mut().zip(later.0) {
            *m |= l;
        }
        Some(out)
    }
}

/// A stored scenario slot that can be launched on its own: 2–8 (slot 1 is the server
/// scenario, run only with a [`Block`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot(u8);

impl Slot {
    /// Slot `n`, refusing anything outside 2–8.
    pub const fn new(n: u8) -> Option<Self> {
        if n >= 2 && n <= 8 {
            Some(Self(n))
        } else {
            None
        }
    }

    /// The slot number.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// Plain writes: 1–30 params, sorted by nothing but the order given, never touching 590 nor
/// the block 605–622.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Writes(Vec<Param>);

impl Writes {
    /// Checks the invariants; returns the params back if they do not hold.
    pub fn new(params: Vec<Param>) -> Result<Self, Vec<Param>> {
        let ok = !params.is_empty()
            && params.len() <= MAX_PARAMS
            && params
                .iter()
                .all(|p| p.index != SCENARIO && !in_block(p.index));
        if ok {
            Ok(Self(params))
        } else {
            Err(params)
        }
    }

    /// The params.
    pub fn params(&self) -> &[Param] {
        &self.0
    }
}

/// What the box is told to do in one action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Mode B: `590 = 1` plus the whole block 605–622.
    Scene(Block),
    /// Mode A: `590 = N` alone.
    Launch(Slot),
    /// Plain writes.
    Write(Writes),
}

/// Params that are none of the three shapes the firmware understands.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "params are not a scene (590=1 + 605..=622), a launch (590=2..8 alone) or plain writes: {0}"
)]
pub struct NotACommand(pub &'static str);

impl Command {
    /// The params sent to the box: for a scene 590 first, then 605…622 in order.
    pub fn params(&self) -> Vec<Param> {
        self.iter_params().collect()
    }

    /// The same params as [`Command::params`], without allocating.
    pub fn iter_params(&self) -> impl Iterator<Item = Param> + '_ {
        let (scenario, block, writes): (Option<u8>, &[u8], &[Param]) = match self {
            Command::Scene(block) => (Some(1), &block.0, &[]),
            Command::Launch(slot) => (Some(slot.0), &[], &[]),
            Command::Write(w) => (None, &[], &w.0),
        };
        let block = block
            .iter()
            .zip(BLOCK_START.get()..)
            .map(|(&mask, index)| Param::new(Index(index), Value(mask)));
        scenario
            .map(|n| Param::new(SCENARIO, Value(n)))
            .into_iter()
            .chain(block)
            .chain(writes.iter().copied())
    }

    /// Recognises the params of a stored action (the inverse of [`Command::params`], in any
    /// param order), so that adapters store the wire form and get typed commands back.
    pub fn from_params(params: &[Param]) -> Result<Self, NotACommand> {
        let scenario: Vec<Value> = params
            .iter()
            .filter(|p| p.index == SCENARIO)
            .map(|p| p.value)
            .collect();
        match scenario.as_slice() {
            [] => Writes::new(params.to_vec())
                .map(Command::Write)
                .map_err(|_| NotACommand("1 to 30 plain writes, none in 605..=622")),
            [Value(1)] => {
                if params.len() != 1 + BLOCK_LEN {
                    return Err(NotACommand(
                        "a scene carries 590 and each of 605..=622 once",
                    ));
                }
                let mut block = Block::default();
                let mut seen = [false; BLOCK_LEN];
                for p in params.iter().filter(|p| p.index != SCENARIO) {
                    let at = usize::from(p.index.get().wrapping_sub(BLOCK_START.get()));
                    if at >= BLOCK_LEN || seen[at] {
                        return Err(NotACommand(
                            "a scene carries 590 and each of 605..=622 once",
                        ));
                    }
                    seen[at] = true;
                    block.0[at] = p.value.0;
                }
                Ok(Command::Scene(block))
            }
            [Value(n)] if params.len() == 1 => Slot::new(*n)
                .map(Command::Launch)
                .ok_or(NotACommand("590 launches slots 2..=8 on its own")),
            _ => Err(NotACommand(
                "590 appears with other params but no full block",
            )),
        }
    }

    /// The number of params this command sends.
    pub fn param_count(&self) -> usize {
        match self {
            Command::Scene(_) => 1 + BLOCK_LEN,
            Command::Launch(_) => 1,
            Command::Write(w) => w.0.len(),
        }
    }
}

/// One action for the box: its guid and what it does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Action {
    /// The id the box acknowledges.
    pub guid: Guid,
    /// What it does.
    pub command: Command,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(cells: &[(u16, u8)]) -> Block {
        let mut b = Block::default();
        for &(i, bits) in cells {
            assert!(b.set_bits(Index(i), bits));
        }
        b
    }

    #[test]
    fn guids_are_url_safe() {
        assert!(Guid::new("806b4fc7-a820-4c49-9ae8-24ced8f6770f").is_ok());
        assert!(Guid::new("").is_err());
        assert!(Guid::new("a/b").is_err());
        assert!(Guid::new("a\"b").is_err());
        let g = Guid::from_random(u128::MAX);
        assert_eq!(g.as_str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let g = Guid::from_random(0);
        assert_eq!(g.as_str(), "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn scene_renders_590_then_the_whole_block() {
        let params = Command::Scene(block(&[(613, 64)])).params();
        assert_eq!(params.len(), 19);
        assert_eq!(params[0], Param::new(SCENARIO, Value(1)));
        let cells: Vec<(u16, u8)> = params[1..]
            .iter()
            .map(|p| (p.index.get(), p.value.0))
            .collect();
        assert_eq!(
            cells.iter().map(|c| c.0).collect::<Vec<_>>(),
            (605..=622).collect::<Vec<_>>()
        );
        assert_eq!(
            cells.iter().filter(|c| c.1 != 0).collect::<Vec<_>>(),
            vec![&(613, 64)]
        );
    }

    #[test]
    fn commands_round_trip_through_params() {
        let writes = Writes::new(vec![Param::new(Index(349), Value(17))]).expect("valid writes");
        for command in [
            Command::Scene(block(&[(613, 64), (620, 1)])),
            Command::Launch(Slot::new(5).expect("slot 5")),
            Command::Write(writes),
        ] {
            assert_eq!(Command::from_params(&command.params()), Ok(command));
        }
        assert!(Command::from_params(&[Param::new(SCENARIO, Value(1))]).is_err());
        assert!(Command::from_params(&[Param::new(SCENARIO, Value(9))]).is_err());
        assert!(Command::from_params(&[Param::new(Index(613), Value(1))]).is_err());
        assert!(Command::from_params(&[]).is_err());
    }

    #[test]
    fn merge_keeps_compatible_orders_together() {
        let on_lamp = block(&[(613, 64)]);
        let on_stairs = block(&[(613, 1)]);
        assert_eq!(on_lamp.merged(&on_stairs), Some(block(&[(613, 65)])));
        assert_eq!(on_lamp.merged(&on_lamp), Some(on_lamp));
        // the later order switches the lamp off: merging would switch it both on and off
        assert_eq!(on_lamp.merged(&block(&[(607, 64)])), None);
        // shutter opened then closed
        assert_eq!(block(&[(617, 1)]).merged(&block(&[(620, 1)])), None);
        // awning: deploy (622 bit 8) then raise (619 bit 8)
        assert_eq!(block(&[(622, 8)]).merged(&block(&[(619, 8)])), None);
        // different bits of paired masks do not conflict
        assert_eq!(
            block(&[(613, 64)]).merged(&block(&[(607, 1)])),
            Some(block(&[(613, 64), (607, 1)]))
        );
        // an earlier order with both bits is not a subset of a later single command
        assert_eq!(
            block(&[(613, 1), (607, 1)]).merged(&block(&[(613, 1)])),
            None
        );
        assert!(block(&[(613, 1)])
            .merged(&block(&[(613, 1), (607, 1)]))
            .is_some());
    }
}
