//! The Lua scripts that make each box request one Redis round trip and atomic.
//!
//! They only move strings: which actions fit is [`reply::fitting_count`]'s rule applied to the
//! stored strings' byte lengths (each stored string *is* the action's wire form, so its length
//! is [`reply::action_len`]); when an alarm order waits, the room is first cut by
//! [`reply::room_with_alarm`]'s rule on the stored alarm order's length (it *is* the `_de67f`
//! object, so its length is [`AlarmOrder::encoded_len`]): `room - (#alarm - 4)`, not below 0.
//! What changed is a string comparison; which guid a stored element has is read from the
//! canonical prefix the adapter writes. Nothing here validates, decodes or merges — that is
//! core's job, done in Rust before anything is stored and after it is read back.
//!
//! Scripts run with `EVALSHA` (redis-rs [`Script`] falls back to loading them on `NOSCRIPT`);
//! [`preload`] loads them all whenever a connection is set up, so the fallback's extra round
//! trips only happen if someone flushes the script cache.
//!
//! [`reply::fitting_count`]: essensys_core::reply::fitting_count
//! [`reply::action_len`]: essensys_core::reply::action_len
//! [`reply::room_with_alarm`]: essensys_core::reply::room_with_alarm
//! [`AlarmOrder::encoded_len`]: essensys_core::reply::AlarmOrder::encoded_len

use std::sync::LazyLock;

use deadpool_redis::redis::{self, Script};

/// The guid of a stored action: read from its canonical prefix `{"guid":"…",`, or by decoding
/// JSON written by another tool.
const GUID_OF: &str = r#"
local function guid_of(item)
  local guid = string.match(item, '^{"guid":"([^"]*)",')
  if guid then return guid end
  local ok, decoded = pcall(cjson.decode, item)
  if ok and type(decoded) == 'table' and type(decoded.guid) == 'string' then
    return decoded.guid
  end
  return nil
end
"#;

/// `apply_report`: compares, writes changed values, pushes their history, records the contact.
///
/// KEYS: exchange, authinfo, connected, clients set, then one history key per reported cell.
/// ARGV: client id, updated (RFC 3339), ip, auth, version (`''` = not given), history length,
/// then `index, value, millis` per reported cell.
/// Returns `index, old ('' if none), new` for each cell whose value changed, in order.
const APPLY: &str = r#"
local changes = {}
local cells = (#ARGV - 6) / 3
local keep = tonumber(ARGV[6])
for i = 1, cells do
  local at = 6 + (i - 1) * 3
  local index, value, millis = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local old = redis.call('HGET', KEYS[1], index)
  if old ~= value then
    redis.call('HSET', KEYS[1], index, value)
    local history = KEYS[4 + i]
    redis.call('LPUSH', history, millis .. ':' .. value)
    redis.call('LTRIM', history, 0, keep - 1)
    changes[#changes + 1] = index
    changes[#changes + 1] = old or ''
    changes[#changes + 1] = value
  end
end
redis.call('SET', KEYS[3], 'true')
local info = {'updated', ARGV[2]}
if ARGV[3] ~= '' then info[#info + 1] = 'ip'; info[#info + 1] = ARGV[3] end
if ARGV[4] ~= '' then info[#info + 1] = 'auth'; info[#info + 1] = ARGV[4] end
if ARGV[5] ~= '' then info[#info + 1] = 'version'; info[#info + 1] = ARGV[5] end
redis.call('HSET', KEYS[2], unpack(info))
redis.call('SADD', KEYS[4], ARGV[1])
return changes
"#;

/// `deliver`: the pending alarm order, if any, and the longest prefix of the queue that fits in
/// `room` bytes — cut, when an alarm order goes with it, by its stored length minus the 4 bytes
/// of the `null` it replaces ([`reply::room_with_alarm`]) — marked sent.
///
/// KEYS: actions list, sent set, legacy global list, connected flag, alarm order. ARGV: room,
/// how many elements to return at least (for the local cache).
/// Returns `{LLEN global list, picked count, queue length, alarm order (nil if none),
/// elements…}`: the first `picked count` elements are the delivered ones; the rest (up to the
/// cache limit) follow.
///
/// [`reply::room_with_alarm`]: essensys_core::reply::room_with_alarm
const DELIVER: &str = r#"
local room = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local alarm = redis.call('GET', KEYS[5])
if alarm then
  room = math.max(0, room - math.max(0, #alarm - 4))
end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local used, count = 0, 0
for _, item in ipairs(items) do
  local extra = #item
  if count > 0 then extra = extra + 1 end
  if used + extra > room then break end
  used = used + extra
  count = count + 1
end
for i = 1, count do
  local guid = guid_of(items[i])
  if guid then redis.call('SADD', KEYS[2], guid) end
end
redis.call('SET', KEYS[4], 'true')
-- the legacy list is written by other tools: never let it break a box's delivery
local legacy = redis.pcall('LLEN', KEYS[3])
if type(legacy) ~= 'number' then legacy = 0 end
local out = {legacy, count, #items, alarm}
local returned = math.max(count, math.min(limit, #items))
for i = 1, returned do out[#out + 1] = items[i] end
return out
"#;

/// `ack`: when the pending alarm order has this guid, deletes it; else removes the action with
/// this guid (first match, `LREM` count 1); either way forgets the guid was sent.
/// KEYS: actions list, sent set, connected flag, alarm order. ARGV: guid.
/// Returns `{'alarm'}`, `{'action', the removed element}` or `{'unknown'}`.
const ACK: &str = r#"
local wanted = ARGV[1]
local outcome = {'unknown'}
local alarm = redis.call('GET', KEYS[4])
local alarm_prefix = '{"guid":"' .. wanted .. '","obl":"'
if alarm and string.sub(alarm, 1, #alarm_prefix) == alarm_prefix then
  redis.call('DEL', KEYS[4])
  outcome = {'alarm'}
else
  local prefix = '{"guid":"' .. wanted .. '",'
  for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    if string.sub(item, 1, #prefix) == prefix or guid_of(item) == wanted then
      redis.call('LREM', KEYS[1], 1, item)
      outcome = {'action', item}
      break
    end
  end
end
redis.call('SREM', KEYS[2], wanted)
redis.call('SET', KEYS[3], 'true')
return outcome
"#;

/// After an outage: marks sent the actions the box got from the local cache, if still queued.
/// KEYS: actions list, sent set. ARGV: guids. Returns how many were marked.
const MARK_SENT: &str = r#"
local wanted = {}
for _, guid in ipairs(ARGV) do wanted[guid] = true end
local marked = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local guid = guid_of(item)
  if guid and wanted[guid] then
    marked = marked + redis.call('SADD', KEYS[2], guid)
  end
end
return marked
"#;

/// Moves a stored alarm order that is not in the wire form aside, unless it was replaced
/// meanwhile. KEYS: alarm order, rejected list. ARGV: the element read. Returns 1 if moved.
const SET_ALARM_ASIDE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"#;

fn with_helpers(body: &str) -> String {
    format!("{GUID_OF}{body}")
}

static SOURCES: LazyLock<[String; 5]> = LazyLock::new(|| {
    [
        APPLY.to_string(),
        with_helpers(DELIVER),
        with_helpers(ACK),
        with_helpers(MARK_SENT),
        SET_ALARM_ASIDE.to_string(),
    ]
});

/// The `apply_report` script.
pub(crate) static APPLY_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCES[0]));
/// The `deliver` script.
pub(crate) static DELIVER_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCES[1]));
/// The `ack` script.
pub(crate) static ACK_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCES[2]));
/// The post-outage `mark sent` script.
pub(crate) static MARK_SENT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCES[3]));

/// The script moving an undecodable alarm order aside.
pub(crate) static ALARM_ASIDE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&SOURCES[4]));

/// One pipeline loading every script (`SCRIPT LOAD`), run when a connection is set up.
pub(crate) fn preload() -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for source in SOURCES.iter() {
        pipe.cmd("SCRIPT").arg("LOAD").arg(source.as_str()).ignore();
    }
    pipe
}
