//! Byte-exact bodies of the replies the box reads.
//!
//! The box reads each reply with one `recv()` of at most 1499 bytes (1023 for `done`) and
//! searches it with `strstr()`, so bodies are compact (no whitespace), keys come in the order
//! the firmware expects, and the `myactions` body is packed to a byte budget with whole actions
//! only — a cut inside an action fails the box's cycle. The HTTP head belongs to the transport,
//! which passes `1499 - head length` as the budget.

use thiserror::Error;

use crate::{
    action::{Action, Guid},
    cell::{Index, Param},
    codec::{decimal_len, push_decimal},
};

/// The most bytes the box reads of a reply (its buffer is 1500 bytes, NUL-terminated).
pub const BOX_READ_LIMIT: usize = 1499;
/// The most bytes a reply to the box may take so that it also crosses the network as **one TCP
/// segment** (Ethernet MSS 1460 minus 12 bytes of TCP timestamp option). The firmware reads
/// once: a 1499-byte reply split into two segments could be cut at its first 1460 bytes.
/// Three full light/shutter actions (~1340 bytes with the head) still fit.
pub const ONE_SEGMENT_LIMIT: usize = 1448;
/// The most bytes the box reads of a `done` reply.
pub const DONE_READ_LIMIT: usize = 1023;
/// The most indices a `serverinfos` reply may ask for.
pub const MAX_INFOS: usize = 30;

/// The `serverinfos` reply: whether someone is watching (2 s vs 5 s cadence) and which cells the
/// box must report next.
///
/// # Format
/// ```text
/// {"isconnected":true,"infos":[363,349,11],"newversion":"no"}
/// ```
/// `newversion` is always `"no"`: this gateway never starts a firmware download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfos {
    connected: bool,
    infos: Vec<Index>,
}

/// More than 30 indices asked for in one `serverinfos`.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[error("serverinfos may ask for at most 30 indices, got {0}")]
pub struct TooManyInfos(pub usize);

impl ServerInfos {
    /// A reply asking for `infos` (at most 30; an empty list makes the box report index 0).
    pub fn new(connected: bool, infos: Vec<Index>) -> Result<Self, TooManyInfos> {
        if infos.len() > MAX_INFOS {
            return Err(TooManyInfos(infos.len()));
        }
        Ok(Self { connected, infos })
    }

    /// A reply asking for nothing (the box then reports index 0).
    pub fn empty(connected: bool) -> Self {
        Self {
            connected,
            infos: Vec::new(),
        }
    }

    /// Whether the reply says someone is watching.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// The indices asked for.
    pub fn infos(&self) -> &[Index] {
        &self.infos
    }

    /// Appends the body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.connected {
            b"{\"isconnected\":true,\"infos\":["
        } else {
            b"{\"isconnected\":false,\"infos\":["
        });
        for (n, index) in self.infos.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            push_decimal(out, u32::from(index.get()));
        }
        out.extend_from_slice(b"],\"newversion\":\"no\"}");
    }
}

/// An alarm order carried in the `_de67f` field: a guid and the encrypted `obl` text
/// (see [`crate::alarm`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlarmOrder {
    guid: Guid,
    obl: String,
}

/// An `obl` that is not decimal bytes joined by `;`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("obl must be decimal bytes joined by ';'")]
pub struct InvalidObl;

impl AlarmOrder {
    /// Wraps an `obl` (only digits and `;` can be sent inside the JSON string).
    pub fn new(guid: Guid, obl: String) -> Result<Self, InvalidObl> {
        let ok = !obl.is_empty() && obl.bytes().all(|b| b.is_ascii_digit() || b == b';');
        ok.then_some(Self { guid, obl }).ok_or(InvalidObl)
    }

    /// Its guid.
    pub fn guid(&self) -> &Guid {
        &self.guid
    }

    /// The encrypted order, decimal bytes joined by `;`.
    pub fn obl(&self) -> &str {
        &self.obl
    }

    /// The exact length of its `_de67f` object, `{"guid":"…","obl":"…"}`.
    pub fn encoded_len(&self) -> usize {
        9 + self.guid.as_str().len() + 9 + self.obl.len() + 2
    }
}

/// Appends an alarm order's `_de67f` object, `{"guid":"…","obl":"…"}` (also the form queue
/// adapters store).
pub fn encode_alarm(out: &mut Vec<u8>, alarm: &AlarmOrder) {
    out.extend_from_slice(b"{\"guid\":\"");
    out.extend_from_slice(alarm.guid.as_str().as_bytes());
    out.extend_from_slice(b"\",\"obl\":\"");
    out.extend_from_slice(alarm.obl.as_bytes());
    out.extend_from_slice(b"\"}");
}

/// The room left for actions when the reply also carries an alarm order whose `_de67f` object
/// is `alarm_len` bytes long, from the `room` without one: the object takes the place of `null`
/// (4 bytes). The rule queue adapters apply in [`crate::ports::ActionQueue::deliver`] (the Redis
/// adapter in its script, on the stored object's length).
pub fn room_with_alarm(room: usize, alarm_len: usize) -> usize {
    room.saturating_sub(alarm_len.saturating_sub(4))
}

const ACTIONS_HEAD: &[u8] = b"{\"_de67f\":";
const ACTIONS_MIDDLE: &[u8] = b",\"actions\":[";
const ACTIONS_TAIL: &[u8] = b"]}";

/// The exact encoded length of one param: `{"k":613,"v":"64"}`.
pub fn param_len(param: &Param) -> usize {
    13 + decimal_len(u32::from(param.index.get())) + decimal_len(u32::from(param.value.get()))
}

/// The exact encoded length of one action in a `myactions` body.
pub fn action_len(action: &Action) -> usize {
    let params: usize = action.command.iter_params().map(|p| param_len(&p)).sum();
    let commas = action.command.param_count().saturating_sub(1);
    // {"guid":"…","params":[…]}
    9 + action.guid.as_str().len() + 12 + params + commas + 2
}

/// The length of a `myactions` body carrying `alarm` and no action.
pub fn empty_actions_len(alarm: Option<&AlarmOrder>) -> usize {
    ACTIONS_HEAD.len()
        + alarm.map_or(4, AlarmOrder::encoded_len)
        + ACTIONS_MIDDLE.len()
        + ACTIONS_TAIL.len()
}

/// The bytes left for actions (and the commas between them) in a `myactions` body of at most
/// `budget` bytes that carries `alarm`.
pub fn action_room(alarm: Option<&AlarmOrder>, budget: usize) -> usize {
    budget.saturating_sub(empty_actions_len(alarm))
}

/// How many actions of encoded lengths `lengths`, taken in order, fit whole in `room` bytes:
/// each costs its length, plus one comma after the first. The rule every queue adapter applies.
/// The Redis adapter must apply it inside its delivery script (one round trip, atomic across
/// backends), on the stored wire form: that Lua copy is checked against this function on
/// generated queues, with and without an alarm order, against a real redis-server
/// (`adapters/redis/tests/fitting.rs`). Change this rule and that test fails until the script
/// follows.
pub fn fitting_count(lengths: impl IntoIterator<Item = usize>, room: usize) -> usize {
    let mut used = 0;
    let mut count = 0;
    for len in lengths {
        let extra = len + usize::from(count > 0);
        if used + extra > room {
            break;
        }
        used += extra;
        count += 1;
    }
    count
}

/// How many of `actions`, taken in order, fit whole in a `myactions` body of at most `budget`
/// bytes that also carries `alarm`.
pub fn actions_fitting<'a>(
    actions: impl IntoIterator<Item = &'a Action>,
    alarm: Option<&AlarmOrder>,
    budget: usize,
) -> usize {
    if empty_actions_len(alarm) > budget {
        return 0;
    }
    fitting_count(
        actions.into_iter().map(action_len),
        action_room(alarm, budget),
    )
}

/// Appends one action as it appears in a `myactions` body (and as queue adapters store it):
/// `{"guid":"…","params":[{"k":590,"v":"1"},…]}`.
pub fn encode_action(out: &mut Vec<u8>, action: &Action) {
    out.extend_from_slice(b"{\"guid\":\"");
    out.extend_from_slice(action.guid.as_str().as_bytes());
    out.extend_from_slice(b"\",\"params\":[");
    for (m, param) in action.command.iter_params().enumerate() {
        if m > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"k\":");
        push_decimal(out, u32::from(param.index.get()));
        out.extend_from_slice(b",\"v\":\"");
        push_decimal(out, u32::from(param.value.get()));
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"]}");
}

/// Appends a `myactions` body to `out`, packing as many whole `actions` as fit in `budget`
/// bytes, first come first served, and returns how many it packed (the rest wait for the next
/// poll). A budget smaller than the empty reply still gets the empty reply.
///
/// # Format
/// ```text
/// {"_de67f":null,"actions":[{"guid":"…","params":[{"k":590,"v":"1"},{"k":605,"v":"0"},…]}]}
/// {"_de67f":{"guid":"…","obl":"73;178;…"},"actions":[]}
/// ```
/// `_de67f` comes first; each param is exactly `{"k":<digits>,"v":"<digits>"}`.
pub fn encode_actions(
    out: &mut Vec<u8>,
    alarm: Option<&AlarmOrder>,
    actions: &[Action],
    budget: usize,
) -> usize {
    let count = actions_fitting(actions, alarm, budget);
    out.extend_from_slice(ACTIONS_HEAD);
    match alarm {
        None => out.extend_from_slice(b"null"),
        Some(alarm) => encode_alarm(out, alarm),
    }
    out.extend_from_slice(ACTIONS_MIDDLE);
    for (n, action) in actions[..count].iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        encode_action(out, action);
    }
    out.extend_from_slice(ACTIONS_TAIL);
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{action::Slot, Block, Command};

    fn lamp_scene(guid: u128) -> Action {
        let mut block = Block::default();
        block.set_bits(Index::known(613), 64);
        Action {
            guid: Guid::from_random(guid),
            command: Command::Scene(block),
        }
    }

    fn text(out: &[u8]) -> &str {
        std::str::from_utf8(out).expect("ascii")
    }

    #[test]
    fn serverinfos_is_compact() {
        let infos = [363, 349, 11].map(Index::known).to_vec();
        let mut out = Vec::new();
        ServerInfos::new(true, infos.clone())
            .expect("3 infos")
            .encode(&mut out);
        assert_eq!(
            text(&out),
            r#"{"isconnected":true,"infos":[363,349,11],"newversion":"no"}"#
        );
        out.clear();
        ServerInfos::new(false, vec![])
            .expect("no infos")
            .encode(&mut out);
        assert_eq!(
            text(&out),
            r#"{"isconnected":false,"infos":[],"newversion":"no"}"#
        );
        assert_eq!(
            ServerInfos::new(true, vec![Index::known(1); 31]),
            Err(TooManyInfos(31))
        );
    }

    #[test]
    fn empty_actions_match_the_reference_reply() {
        let mut out = Vec::new();
        assert_eq!(encode_actions(&mut out, None, &[], BOX_READ_LIMIT), 0);
        assert_eq!(text(&out), r#"{"_de67f":null,"actions":[]}"#);
        assert_eq!(out.len(), empty_actions_len(None));
    }

    #[test]
    fn actions_are_packed_whole_within_the_budget() {
        let actions: Vec<Action> = (1..=5).map(lamp_scene).collect();
        let one = action_len(&actions[0]);
        let mut out = Vec::new();
        let budget = empty_actions_len(None) + 3 * one + 2;
        assert_eq!(encode_actions(&mut out, None, &actions, budget), 3);
        assert_eq!(
            out.len(),
            budget,
            "three actions and two commas fill it exactly"
        );
        out.clear();
        assert_eq!(encode_actions(&mut out, None, &actions, budget - 1), 2);
        assert!(out.len() < budget);
    }

    #[test]
    fn lengths_are_exact() {
        let actions = [
            lamp_scene(7),
            Action {
                guid: Guid::from_random(8),
                command: Command::Launch(Slot::new(5).expect("slot")),
            },
        ];
        let alarm = AlarmOrder::new(Guid::from_random(9), "73;178;187".into()).expect("obl");
        let mut out = Vec::new();
        assert_eq!(
            encode_actions(&mut out, Some(&alarm), &actions, usize::MAX),
            2
        );
        let expected =
            empty_actions_len(Some(&alarm)) + action_len(&actions[0]) + 1 + action_len(&actions[1]);
        assert_eq!(out.len(), expected);
        assert!(text(&out).starts_with(r#"{"_de67f":{"guid":"00000000-0000-4000-8000-000000000009","obl":"73;178;187"},"actions":[{"guid":"#));
        assert!(text(&out).ends_with(
            r#"{"guid":"00000000-0000-4000-8000-000000000008","params":[{"k":590,"v":"5"}]}]}"#
        ));
        assert!(AlarmOrder::new(Guid::from_random(9), "1;\"2".into()).is_err());
    }

    #[test]
    fn the_room_with_an_alarm_is_the_room_without_it_minus_its_object() {
        let alarm = AlarmOrder::new(Guid::from_random(9), "73;178;187".into()).expect("obl");
        let mut object = Vec::new();
        encode_alarm(&mut object, &alarm);
        assert_eq!(object.len(), alarm.encoded_len());
        for budget in [0, 40, 100, ONE_SEGMENT_LIMIT] {
            assert_eq!(
                room_with_alarm(action_room(None, budget), alarm.encoded_len()),
                action_room(Some(&alarm), budget),
                "budget {budget}"
            );
        }
    }
}
