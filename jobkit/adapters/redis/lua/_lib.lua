-- Shared by every script (scripts.py puts it, after a generated prelude that defines
-- NCOUNTERS, COUNTER (name -> index) and NPRIO, in front of each script body).
--
-- KEYS layout, the same for every script:
--   one block of GROUP keys per queue the call touches (most calls: one), then,
--   on a standalone Redis only, the global block.
--   queue block  : 1 jobs, 2 state, 3 created, 4..8 ready:<critical..bulk>, 9 scheduled,
--                  10 inflight, 11 leases, 12 dead, 13 statuses, 14 history, 15 signal,
--                  16 quarantine, then NCOUNTERS queue counters (COUNTERS order)
--   global block : NCOUNTERS global counters, then the id directory, then the queue set
-- ARGV[1] = '1' when the global block is present (standalone), '0' on Redis Cluster,
-- where the caller applies the returned counter deltas to the global counters itself.
-- ARGV[2] = how many queue blocks there are. Script arguments start at ARGV[3].
--
-- State strings (the `state` hash) are "<status>:<priority rank>[:<time in µs>]"; the
-- time, when present, overrides the job JSON's updated_at (and, for running jobs,
-- started_at): it is how a script moves a job without parsing its opaque JSON.

local GLOBAL = ARGV[1] == '1'
local NGROUPS = tonumber(ARGV[2])
local QKEYS = 16
local GROUP = QKEYS + NCOUNTERS
local GBASE = NGROUPS * GROUP
local K_JOBS, K_STATE, K_CREATED, K_READY = 1, 2, 3, 4
local K_SCHEDULED, K_INFLIGHT, K_LEASES, K_DEAD = 9, 10, 11, 12
local K_STATUSES, K_HISTORY, K_SIGNAL, K_QUARANTINE = 13, 14, 15, 16
local SIGNAL_CAP = 16
local G_DIRECTORY, G_QUEUES = NCOUNTERS + 1, NCOUNTERS + 2  -- in the global block

-- Counters and status tallies are summed while a script runs and written once, by
-- reply(): a batch of 100 acks costs a handful of INCRBYs, not hundreds.
-- DELTAS: the call's counter deltas, also returned to the caller (Cluster's globals);
-- COUNTS[g][i]: per queue block and counter; TALLY[g][status]: per block and status.
local DELTAS, COUNTS, TALLY = {}, {}, {}
for i = 1, NCOUNTERS do DELTAS[i] = 0 end

local function key(g, k)
  return KEYS[(g - 1) * GROUP + k]
end

local function gkey(k)
  return KEYS[GBASE + k]
end

local function ready_key(g, rank)
  return KEYS[(g - 1) * GROUP + K_READY + rank]
end

local function bump(g, index, n)
  if n ~= 0 then
    local counts = COUNTS[g] or {}
    COUNTS[g] = counts
    counts[index] = (counts[index] or 0) + n
    DELTAS[index] = DELTAS[index] + n
  end
end

-- add a comma-separated list of NCOUNTERS deltas ("0,1,1,0,...")
local function bump_all(g, csv)
  local i = 0
  for n in string.gmatch(csv, '[^,]+') do
    i = i + 1
    bump(g, i, tonumber(n))
  end
end

-- integer µs as a string Redis stores exactly (Lua 5.1 numbers are doubles)
local function us(n)
  return string.format('%.0f', n)
end

-- ARGV time in µs, or the server's clock when the caller passed ''
local function now_us(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function parse_state(s)
  local status, rank, t = string.match(s, '^([a-z]+):(%d)(.*)$')
  return status, tonumber(rank), t
end

local function tally(g, from, to)
  local t = TALLY[g] or {}
  TALLY[g] = t
  if from then t[from] = (t[from] or 0) - 1 end
  if to then t[to] = (t[to] or 0) + 1 end
end

local function signal(g)
  redis.call('LPUSH', key(g, K_SIGNAL), '1')
  redis.call('LTRIM', key(g, K_SIGNAL), 0, SIGNAL_CAP - 1)
end

-- take a job out of the index its status puts it in (not jobs/state/created)
local function unindex(g, id, status, rank)
  if status == 'pending' then
    redis.call('LREM', ready_key(g, rank), 1, id)
  elseif status == 'scheduled' or status == 'retrying' then
    redis.call('ZREM', key(g, K_SCHEDULED), id)
  elseif status == 'running' then
    redis.call('ZREM', key(g, K_INFLIGHT), id)
    redis.call('HDEL', key(g, K_LEASES), id)
  elseif status == 'dead' then
    redis.call('ZREM', key(g, K_DEAD), id)
  end
end

-- put a job where its status says: ready (back, or front), scheduled, dead letters
local function index(g, id, status, rank, score, front)
  if status == 'pending' then
    if front then
      redis.call('LPUSH', ready_key(g, rank), id)
    else
      redis.call('RPUSH', ready_key(g, rank), id)
    end
  elseif status == 'scheduled' or status == 'retrying' then
    redis.call('ZADD', key(g, K_SCHEDULED), score, id)
  elseif status == 'dead' then
    redis.call('ZADD', key(g, K_DEAD), score, id)
  end
end

-- a leased (running) job gets its outcome: the lease and in-flight entry go, the new
-- body and state are written, and the job is indexed where its new status puts it
local function end_lease(g, id, json, status, rank, score, front)
  unindex(g, id, 'running', rank)
  redis.call('HSET', key(g, K_JOBS), id, json)
  redis.call('HSET', key(g, K_STATE), id, status .. ':' .. rank)
  index(g, id, status, rank, score, front)
  tally(g, 'running', status)
end

-- move due scheduled/retrying jobs (run_at <= now) to the back of their ready list, at
-- most `limit`, earliest first (equal times: by id); how many moved
local function promote(g, now, limit)
  local due = redis.call('ZRANGEBYSCORE', key(g, K_SCHEDULED), '-inf', us(now), 'LIMIT', 0, limit)
  if #due == 0 then return 0 end
  local stamp = us(now)
  for _, id in ipairs(due) do
    local state = redis.call('HGET', key(g, K_STATE), id)
    if state then
      local status, rank = parse_state(state)
      redis.call('RPUSH', ready_key(g, rank), id)
      redis.call('HSET', key(g, K_STATE), id, 'pending:' .. rank .. ':' .. stamp)
      tally(g, status, 'pending')
    end
    redis.call('ZREM', key(g, K_SCHEDULED), id)
  end
  signal(g)
  return #due
end

-- write the summed counters and tallies; then the reply: the script's own values,
-- then the counter deltas it applied. Every script ends here.
local function reply(values)
  for g, counts in pairs(COUNTS) do
    for index, n in pairs(counts) do
      if n ~= 0 then redis.call('INCRBY', KEYS[(g - 1) * GROUP + QKEYS + index], n) end
    end
  end
  if GLOBAL then
    for index = 1, NCOUNTERS do
      if DELTAS[index] ~= 0 then redis.call('INCRBY', gkey(index), DELTAS[index]) end
    end
  end
  for g, t in pairs(TALLY) do
    for status, n in pairs(t) do
      if n ~= 0 then redis.call('HINCRBY', key(g, K_STATUSES), status, n) end
    end
  end
  values[#values + 1] = DELTAS
  return values
end
