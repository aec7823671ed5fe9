-- wrk script: the box's firmware cycle, byte for byte, one request per connection.
--
-- Each request is the exact bytes the firmware sends (fixtures/box/*.http: serverinfos,
-- mystatus with the firmware's status body, myactions), in the cycle's order, one after the
-- other on each wrk thread. The requests carry no `Connection: close` (the box never sends
-- one); both servers answer with `Connection: close` and close, and wrk then opens a new
-- connection for the next request (scripts/bench-floor.sh checks this against the kernel's
-- count of accepted connections).
--
-- Every reply is checked for the status and the body the box needs (200 + `isconnected`,
-- 201, 200 + `_de67f`); anything else is counted as bad and printed by done(), and the bench
-- script fails on it. wrk's response() does not say which request a reply answers (8
-- connections interleave), so a reply is classified by its status and body.
--
-- Env: FIXTURES (default fixtures/box), CYCLE_OUT (a file where done() writes its counts).

local dir = os.getenv("FIXTURES") or "fixtures/box"

local function slurp(name)
  local f = assert(io.open(dir .. "/" .. name, "rb"), "cannot open " .. dir .. "/" .. name)
  local bytes = f:read("*a")
  f:close()
  return bytes
end

local cycle = { slurp("serverinfos.http"), slurp("mystatus.http"), slurp("myactions.http") }
local step = 0
local verified = false

-- per thread (each wrk thread has its own Lua state)
infos, status, actions, bad, body_bytes_infos, body_bytes_actions = 0, 0, 0, 0, 0, 0
first_bad = ""

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- wrk parses the first request() of thread 0 once before the run ("verification") with its
-- own strict HTTP parser, which refuses the firmware's GET request lines (a space before the
-- CRLF: "invalid HTTP version"). So each Lua state's first call returns the mystatus request
-- (a valid line) without advancing the cycle: in thread 0 it is only parsed, never sent.
-- The servers get the firmware's exact bytes, space included.
function request()
  if not verified then
    verified = true
    return cycle[2]
  end
  step = step % 3 + 1
  return cycle[step]
end

function response(code, headers, body)
  if code == 200 and body:find('"isconnected":', 1, true) == 2 then
    infos = infos + 1
    body_bytes_infos = body_bytes_infos + #body
  elseif code == 201 and #body == 0 then
    status = status + 1
  elseif code == 200 and body:find('{"_de67f":', 1, true) == 1 then
    actions = actions + 1
    body_bytes_actions = body_bytes_actions + #body
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = code .. " " .. body:sub(1, 120)
    end
  end
end

function done(summary, latency, requests)
  local t = { infos = 0, status = 0, actions = 0, bad = 0, bi = 0, ba = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    t.infos = t.infos + thread:get("infos")
    t.status = t.status + thread:get("status")
    t.actions = t.actions + thread:get("actions")
    t.bad = t.bad + thread:get("bad")
    t.bi = t.bi + thread:get("body_bytes_infos")
    t.ba = t.ba + thread:get("body_bytes_actions")
    if first == "" then first = thread:get("first_bad") end
  end
  local e = summary.errors
  local line = string.format(
    "cycle: requests=%d serverinfos=%d mystatus=%d myactions=%d bad=%d " ..
    "socket_errors=%d non2xx=%d infos_body=%.1f actions_body=%.1f p99_us=%d",
    summary.requests, t.infos, t.status, t.actions, t.bad,
    e.connect + e.read + e.write + e.timeout, e.status,
    t.infos > 0 and t.bi / t.infos or 0, t.actions > 0 and t.ba / t.actions or 0,
    latency:percentile(99))
  print(line)
  if first ~= "" then print("cycle: first bad reply: " .. first) end
  local out = os.getenv("CYCLE_OUT")
  if out then
    local f = assert(io.open(out, "w"))
    f:write(line, "\n")
    f:close()
  end
end
