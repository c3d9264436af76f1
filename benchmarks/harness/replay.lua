-- wrk script: replay pre-rendered HTTP requests, each sent once (or cycled, when reusable).
--
--   wrk -t T -c C -d D -s replay.lua http://127.0.0.1:P/ -- POOL T OK_PATTERN CYCLE
--
-- POOL is written by benchmarks/harness/wrk.py: records "<length>\n<raw request bytes>".
-- Thread k (0-based) takes records k, k+T, k+2T ..., so no request is sent twice. A
-- 2xx counts as ok only when its body matches the Lua pattern OK_PATTERN ("" matches all).
-- CYCLE "1" has every thread replay the whole pool round and round (requests without a
-- single-use part, e.g. GET /jwks). Otherwise a thread that runs out stops itself and
-- sends one last "GET /bench-pool-exhausted", counted under "exhausted": the run was cut
-- short (its other connections stay open and idle until wrk ends, which stalls a sync
-- gunicorn worker), so wrk.py's caller measures it again with a bigger pool.
-- done() prints one line "WRK_REPLAY_RESULT {json}" that wrk.py parses.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, stride = args[1], tonumber(args[2])
  ok_pattern = args[3] or ""
  cycle = args[4] == "1"
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  pool = {}
  local position, index = 1, 0
  while position <= #data do
    local newline = assert(data:find("\n", position, true), "malformed pool")
    local length = assert(tonumber(data:sub(position, newline - 1)), "malformed length")
    if cycle or index % stride == id then
      pool[#pool + 1] = data:sub(newline + 1, newline + length)
    end
    index = index + 1
    position = newline + 1 + length
  end
  cursor = 0
  ok, non2xx, bad_body, exhausted = 0, 0, 0, 0
  statuses = {}
  exhausted_request = "GET /bench-pool-exhausted HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
end

function request()
  if cursor >= #pool then
    if cycle and #pool > 0 then
      cursor = 0
    else
      exhausted = exhausted + 1
      wrk.thread:stop()
      return exhausted_request
    end
  end
  cursor = cursor + 1
  return pool[cursor]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 200 and status < 300 then
    if ok_pattern == "" or (body and body:find(ok_pattern)) then
      ok = ok + 1
    else
      bad_body = bad_body + 1
    end
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local totals = { ok = 0, non2xx = 0, bad_body = 0, exhausted = 0 }
  local merged = {}
  for _, thread in ipairs(threads) do
    for name, value in pairs(totals) do
      totals[name] = value + (thread:get(name) or 0)
    end
    for code, count in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(merged) do
    parts[#parts + 1] = string.format('"%s":%d', code, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_REPLAY_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"ok":%d,"non2xx":%d,"bad_body":%d,"exhausted":%d,"statuses":{%s},'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    totals.ok, totals.non2xx, totals.bad_body, totals.exhausted, table.concat(parts, ","),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
