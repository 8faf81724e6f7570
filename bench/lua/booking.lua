-- POST /api/bookings: each request a different (member, session) pair from PAIRS_FILE
-- ("token<TAB>session_id" per line); thread `tid` takes lines tid, tid+NTHREADS, ...
-- Token auth (Bearer) and a fresh Idempotency-Key per request.
local mine = {}
local n = 0

function init(args)
  local i = 0
  for line in io.lines(PAIRS_FILE) do
    if i % NTHREADS == tid then
      local token, session = string.match(line, "^(%S+)\t(%S+)")
      table.insert(mine, {token, session})
    end
    i = i + 1
  end
end

function request()
  n = n + 1
  local pair = mine[((n - 1) % #mine) + 1]
  local headers = {
    ["Authorization"] = "Bearer " .. pair[1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = RUN_ID .. "-" .. tid .. "-" .. n,
  }
  return wrk.format("POST", "/api/bookings", headers, '{"session_id":"' .. pair[2] .. '"}')
end
