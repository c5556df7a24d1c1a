-- wrk.lua -- the requests of one `make bench` cell, from the environment:
--
--   BENCH_KIND    static | get | login | update | phone
--   BENCH_PATH    the path (GET cells, and the POST routes)
--   BENCH_TOKENS  a file of session tokens, one a line (authenticated cells)
--   BENCH_BODY    a file whose lines are request bodies, one per token
--                 (update: form bodies with encrypted_data for that token's
--                 user)
--   BENCH_RUN     a run id: login and phone codes are <prefix><run>-...
--   BENCH_USERS   login: how many distinct users the codes name (returning
--                 users log in again)
--
-- Login and phone codes are minted by the fake WeChat on arrival
-- (auto_code_prefix "bench-"), each used once.  At the end: one JSON line
-- with the figures bench.py reads.

local kind = os.getenv("BENCH_KIND") or "get"
local path = os.getenv("BENCH_PATH") or "/healthz"
local run = os.getenv("BENCH_RUN") or "0"
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local threads = {}

local function lines(file)
  local t = {}
  if file == nil or file == "" then return t end
  local f = io.open(file, "r")
  if f == nil then return t end
  f:close()
  for l in io.lines(file) do
    if l ~= "" then t[#t + 1] = l end
  end
  return t
end

function setup(thread)
  thread:set("tid", #threads + 1)
  threads[#threads + 1] = thread
end

local tokens, bodies, n

function init(args)
  tokens = lines(os.getenv("BENCH_TOKENS"))
  bodies = lines(os.getenv("BENCH_BODY"))
  n = 0
  -- each thread starts at another token
  n = (tid or 1) * 7919
end

function request()
  n = n + 1
  local tok = #tokens > 0 and tokens[n % #tokens + 1] or nil
  local hdrs = {}
  if tok then hdrs["Cookie"] = "sid=" .. tok end
  if kind == "login" then
    local code = string.format("bench-%s-%d-%d-u%d", run, tid or 1, n, n % users)
    return wrk.format("GET", path .. "?code=" .. code, hdrs)
  elseif kind == "update" then
    hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", path, hdrs, bodies[n % #bodies + 1])
  elseif kind == "phone" then
    hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    local code = string.format("bench-p%s-%d-%d", run, tid or 1, n)
    return wrk.format("POST", path, hdrs, "code=" .. code)
  end
  return wrk.format("GET", path, hdrs)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), latency.max, e.status, e.connect, e.read,
    e.write, e.timeout))
end
