-- GET /api/sessions for the coming week, as a member (my_booking_id is per member):
-- tokens from TOKENS_FILE, one per line, rotated per request.
local tokens = {}
local n = 0

function init(args)
  local i = 0
  for line in io.lines(TOKENS_FILE) do
    if i % NTHREADS == tid then table.insert(tokens, line) end
    i = i + 1
  end
end

function request()
  n = n + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[((n - 1) % #tokens) + 1]}
  return wrk.format("GET", LIST_PATH, headers)
end
