-- Counters shared by every scenario. Each wrk thread has its own Lua state: setup() numbers
-- the threads, response() counts "status" or "status:code" (the error body's code), done()
-- merges the threads' counters and prints one JSON line for bench/common.py.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

counts = {}

function response(status, headers, body)
  local key = tostring(status)
  if status >= 400 then
    local code = body and string.match(body, '"code"%s*:%s*"([^"]*)"')
    if code == nil then
      if body and string.find(body, "<html", 1, true) then code = "HTML" else code = "not-json" end
    end
    key = key .. ":" .. code
  end
  counts[key] = (counts[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    if c then
      for k, v in pairs(c) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d,"mean":%d},"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, table.concat(parts, ",")))
end
