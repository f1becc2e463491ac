-- Shared by every script. scripts.py puts it after a generated prelude that defines
-- NCOUNTERS, COUNTER (name -> index), COUNTER_NAMES and NPRIO, and puts the scripts
-- after it: as one Redis function library (each script a function whose first step is
-- begin(KEYS, ARGV); loaded once, so this file is not run again per call), or, for EVAL,
-- one script text each (this file, begin(KEYS, ARGV), the script).
--
-- KEYS layout, the same for every script:
--   one block of GROUP keys per queue the call touches (most calls: one), then,
--   on a standalone Redis only, the global block.
--   queue block  : 1 jobs, 2 state, 3 created, 4..8 ready:<critical..bulk>, 9 scheduled,
--                  10 inflight, 11 leases, 12 dead, 13 statuses, 14 history, 15 signal,
--                  16 quarantine, 17 tenants, 18 seq, then NCOUNTERS queue counters
--   global block : NCOUNTERS global counters, then the id directory, the queue set and
--                  the tenant set
-- ARGV[1] = two flags: the first '1' when the global block is present (standalone),
-- '0' on Redis Cluster, where the caller applies the returned global and per-tenant
-- deltas itself; the second '1' when tenants are served fairly (see "Ready pushes").
-- ARGV[2] = how many queue blocks there are. Script arguments start at ARGV[3].
--
-- Ready jobs: per priority, one sorted set of the whole level (`ready:<p>`) and one per
-- tenant group (`ready:<p>:t:<tenant>`, `ready:<p>:none` for jobs without a tenant),
-- both scored alike; the group sets are named from the level's key, so they share its
-- hash tag (its Cluster slot). The `tenants` hash maps id -> tenant for jobs that have
-- one. Scores and rounds are explained at "Ready pushes" (the same rules as the
-- in-memory backend's ready_level.py, so both serve jobs in the same order).
--
-- State strings (the `state` hash) are "<status>:<priority rank>[:<time in µs>]"; the
-- time, when present, overrides the job JSON's updated_at (and, for running jobs,
-- started_at): it is how a script moves a job without parsing its opaque JSON.

-- The call's own values, set by begin() as each call starts (Redis runs one call at a
-- time, so one set serves them all): KEYS and ARGV, the flags and block count read from
-- ARGV, the index where the global block starts, and the sums described below.
local KEYS, ARGV, GLOBAL, FAIR, NGROUPS, GBASE
local DELTAS, COUNTS, TALLY, TCOUNTS, TTALLY, LISTS
local QKEYS = 18
local GROUP = QKEYS + NCOUNTERS
local K_JOBS, K_STATE, K_CREATED, K_READY = 1, 2, 3, 4
local K_SCHEDULED, K_INFLIGHT, K_LEASES, K_DEAD = 9, 10, 11, 12
local K_STATUSES, K_HISTORY, K_SIGNAL, K_QUARANTINE = 13, 14, 15, 16
local K_TENANTS, K_SEQ = 17, 18
local SIGNAL_CAP = 16
local SEQ_SPAN = 1048576  -- a score is round * SEQ_SPAN + seq (ready_level.SEQ_SPAN)
-- in the global block
local G_DIRECTORY, G_QUEUES, G_TENANTS = NCOUNTERS + 1, NCOUNTERS + 2, NCOUNTERS + 3

-- Counters and status tallies are summed while a script runs and written once, by
-- reply(): a batch of 100 acks costs a handful of INCRBYs, not hundreds.
-- DELTAS: the call's counter deltas, also returned to the caller (Cluster's globals);
-- COUNTS[g][i]: per queue block and counter; TALLY[g][status]: per block and status;
-- TCOUNTS[tenant][i] and TTALLY[tenant][status]: the same per tenant.
-- LISTS: see bump_all.

local function begin(keys, argv)
  KEYS, ARGV = keys, argv
  GLOBAL = string.sub(argv[1], 1, 1) == '1'
  FAIR = string.sub(argv[1], 2, 2) == '1'
  NGROUPS = tonumber(argv[2])
  GBASE = NGROUPS * GROUP
  DELTAS, COUNTS, TALLY, TCOUNTS, TTALLY, LISTS = {}, {}, {}, {}, {}, {}
  for i = 1, NCOUNTERS do DELTAS[i] = 0 end
end

local function key(g, k)
  return KEYS[(g - 1) * GROUP + k]
end

local function gkey(k)
  return KEYS[GBASE + k]
end

local function ready_key(g, rank)
  return KEYS[(g - 1) * GROUP + K_READY + rank]
end

-- add n to an entry of a table of tables (created on first use)
local function add(t, outer, inner, n)
  local row = t[outer]
  if not row then
    row = {}
    t[outer] = row
  end
  row[inner] = (row[inner] or 0) + n
end

-- count n for counter `index` in block g (and for `tenant`, when the job has one)
local function bump(g, index, n, tenant)
  if n ~= 0 then
    add(COUNTS, g, index, n)
    DELTAS[index] = DELTAS[index] + n
    if tenant then add(TCOUNTS, tenant, index, n) end
  end
end

-- add a comma-separated list of NCOUNTERS deltas ("0,1,1,0,..."). Batches repeat the
-- same few lists (one per outcome), so they are tallied here and each distinct list is
-- parsed once, by add_lists() at the end of the call.
-- LISTS[g][tenant or false][csv] = how many times
local function bump_all(g, csv, tenant)
  local by_tenant = LISTS[g]
  if not by_tenant then
    by_tenant = {}
    LISTS[g] = by_tenant
  end
  add(by_tenant, tenant or false, csv, 1)
end

local function add_lists()
  for g, by_tenant in pairs(LISTS) do
    for tenant, by_csv in pairs(by_tenant) do
      for csv, times in pairs(by_csv) do
        local i = 0
        for n in string.gmatch(csv, '[^,]+') do
          i = i + 1
          bump(g, i, tonumber(n) * times, tenant)
        end
      end
    end
  end
end

-- redis.call(cmd, k, ...list) in chunks (unpack has a stack limit); `list` may hold
-- pairs (field, value / score, member): chunks are even-sized
local CHUNK = 2000
local function call_many(cmd, k, list)
  for i = 1, #list, CHUNK do
    redis.call(cmd, k, unpack(list, i, math.min(i + CHUNK - 1, #list)))
  end
end

-- HMGET of many fields, in chunks; the values in order (false where missing)
local function hmget_many(k, fields)
  if #fields == 0 then return {} end
  if #fields <= CHUNK then return redis.call('HMGET', k, unpack(fields)) end
  local out = {}
  for i = 1, #fields, CHUNK do
    local part = redis.call('HMGET', k, unpack(fields, i, math.min(i + CHUNK - 1, #fields)))
    for _, v in ipairs(part) do out[#out + 1] = v end
  end
  return out
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

-- a job of block g (and of `tenant`, if any) moves from status `from` to `to` (nil:
-- it appears or goes away)
local function tally(g, from, to, tenant)
  if from then add(TALLY, g, from, -1) end
  if to then add(TALLY, g, to, 1) end
  if tenant then
    if from then add(TTALLY, tenant, from, -1) end
    if to then add(TTALLY, tenant, to, 1) end
  end
end

-- the tenant of a stored job, or false
local function tenant_of(g, id)
  return redis.call('HGET', key(g, K_TENANTS), id)
end

-- the ready set of one tenant group of a level
local function group_key(g, rank, tenant)
  if tenant then return ready_key(g, rank) .. ':t:' .. tenant end
  return ready_key(g, rank) .. ':none'
end

-- the round of the first (at = 0) or last (at = -1) entry of a ready set, or nil
local function edge_round(k, at)
  local hit = redis.call('ZRANGE', k, at, at, 'WITHSCORES')
  if hit[2] then return math.floor(tonumber(hit[2]) / SEQ_SPAN) end
  return nil
end

-- Ready pushes, in batches. Jobs are served lowest score first; a score is
-- round * SEQ_SPAN + seq, seq counting the level's pushes, so equal rounds go in
-- arrival order. With `head` the round of the level's first job (0 if none): a back
-- push gets round tail + 1, tail being the highest round of the job's tenant group, or
-- joins round head if the group is empty, so tenants take turns, one job each per
-- round; unfair (FIFO), the whole level's highest round (top) + 1; a front push
-- (release, reclaim) gets head - 1. A batch reads each level's head and top and each
-- group's tail at most once, only when a push needs it (a fair push to a group with
-- jobs needs only its tail; a FIFO push to a level with jobs only the top: head <= top),
-- and follows them in Lua; flush_pushes writes one ZADD per set.
local function new_pushes()
  return {levels = {}, order = {}}
end

-- P.levels[g][rank]: a level's head (nil until read), its top and groups' tails (nil
-- until read, false for none) and group keys, its pushes, and the group of all its
-- pushes (nil before the first; MIXED once two differ)
local MIXED = {}
local function level_of(P, g, rank)
  local by_rank = P.levels[g]
  if not by_rank then
    by_rank = {}
    P.levels[g] = by_rank
  end
  local L = by_rank[rank]
  if not L then
    L = {g = g, rank = rank, tails = {}, keys = {},
         n = 0, ids = {}, rounds = {}, groups = {}}  -- the pushes, in order
    by_rank[rank] = L
    P.order[#P.order + 1] = L
  end
  return L
end

-- the level's head round, read on first need; `empty` is set with it (left nil while
-- the head is unread: a push that skips the read found a job in the level)
local function level_head(L)
  if L.head == nil then
    local head = edge_round(ready_key(L.g, L.rank), 0)
    L.head, L.empty = head or 0, head == nil
  end
  return L.head
end

-- the key of a tenant group's ready set (tenant false: no tenant), named once per batch
local function level_group_key(L, group)
  local k = L.keys[group]
  if not k then
    k = group_key(L.g, L.rank, group)
    L.keys[group] = k
  end
  return k
end

local function push(P, g, id, rank, tenant, front)
  local L = level_of(P, g, rank)
  local group = tenant or false
  local round, tail = nil, false  -- tail: the group's highest round, false if no job
  if FAIR then
    tail = L.tails[group]
    if tail == nil then tail = edge_round(level_group_key(L, group), -1) or false end
  end
  if front then
    round = level_head(L) - 1
    L.head = round
  elseif FAIR then
    round = tail and tail + 1 or level_head(L)
  else
    if L.top == nil then L.top = edge_round(ready_key(g, rank), -1) or false end
    round = (L.top or level_head(L)) + 1
    L.top = round
  end
  if L.empty then
    L.head, L.empty = round, false
  end
  if FAIR then L.tails[group] = (tail and tail > round) and tail or round end
  local count = L.n + 1
  L.n = count
  L.ids[count], L.rounds[count], L.groups[count] = id, round, group
  if L.group == nil then
    L.group = group
  elseif L.group ~= group then
    L.group = MIXED
  end
end

-- back pushes of every id in `ids` (in order), all to one level and tenant group:
-- what push() does for each, with the level read and the rounds settled once (a
-- run's rounds follow one another: each push's round is the one before it + 1)
local function push_run(P, g, rank, tenant, ids)
  local n = #ids
  if n == 0 then return end
  push(P, g, ids[1], rank, tenant, false)
  local L = level_of(P, g, rank)
  local group = tenant or false
  local L_ids, rounds, groups = L.ids, L.rounds, L.groups
  local at, round = L.n, rounds[L.n]
  for i = 2, n do
    round = round + 1
    at = at + 1
    L_ids[at], rounds[at], groups[at] = ids[i], round, group
  end
  L.n = at
  if FAIR then L.tails[group] = round else L.top = round end
end

local function flush_pushes(P)
  for _, L in ipairs(P.order) do
    local ids, rounds, of_group, count = L.ids, L.rounds, L.groups, L.n
    if count > 0 then
      local first = redis.call('HINCRBY', key(L.g, K_SEQ), L.rank, count) - count
      -- scores are integers: '%d' formats them without the floating-point printing
      -- Redis would use for a number (%.17g, the most of a push's own cost), once for
      -- both sets
      local level = {}
      for i = 1, count do
        local score = string.format('%d', rounds[i] * SEQ_SPAN + (first + i) % SEQ_SPAN)
        level[2 * i - 1], level[2 * i] = score, ids[i]
      end
      call_many('ZADD', ready_key(L.g, L.rank), level)
      if L.group ~= MIXED then
        call_many('ZADD', level_group_key(L, L.group), level)  -- one group: the same list
      else
        local groups = {}
        for i = 1, count do
          local group = of_group[i]
          local members = groups[group]
          if not members then
            members = {}
            groups[group] = members
          end
          members[#members + 1], members[#members + 2] = level[2 * i - 1], ids[i]
        end
        for group, members in pairs(groups) do
          call_many('ZADD', level_group_key(L, group), members)
        end
      end
    end
  end
end

-- one ready push, written at once
local function push_ready(g, id, rank, tenant, front)
  local P = new_pushes()
  push(P, g, id, rank, tenant, front)
  flush_pushes(P)
end

-- take a ready job out of its level and its tenant group
local function pull_ready(g, id, rank, tenant)
  redis.call('ZREM', ready_key(g, rank), id)
  redis.call('ZREM', group_key(g, rank, tenant), id)
end

-- a wake-up mark for idle workers (BLPOP); the list is cut back to SIGNAL_CAP marks
-- when it passes twice that, so a push costs one command, not two
local function signal(g)
  if redis.call('LPUSH', key(g, K_SIGNAL), '1') > 2 * SIGNAL_CAP then
    redis.call('LTRIM', key(g, K_SIGNAL), 0, SIGNAL_CAP - 1)
  end
end

-- take a job out of the index its status puts it in (not jobs/state/created)
local function unindex(g, id, status, rank, tenant)
  if status == 'pending' then
    pull_ready(g, id, rank, tenant)
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
local function index(g, id, status, rank, score, front, tenant)
  if status == 'pending' then
    push_ready(g, id, rank, tenant, front)
  elseif status == 'scheduled' or status == 'retrying' then
    redis.call('ZADD', key(g, K_SCHEDULED), score, id)
  elseif status == 'dead' then
    redis.call('ZADD', key(g, K_DEAD), score, id)
  end
end

-- a leased (running) job gets its outcome: the lease and in-flight entry go, the new
-- body and state are written, and the job is indexed where its new status puts it;
-- returns the job's tenant (or false)
local function end_lease(g, id, json, status, rank, score, front)
  local tenant = tenant_of(g, id)
  unindex(g, id, 'running', rank, tenant)
  redis.call('HSET', key(g, K_JOBS), id, json)
  redis.call('HSET', key(g, K_STATE), id, status .. ':' .. rank)
  index(g, id, status, rank, score, front, tenant)
  tally(g, 'running', status, tenant)
  return tenant
end

-- move due scheduled/retrying jobs (run_at <= now) to the back of their ready list, at
-- most `limit`, earliest first (equal times: by id); how many moved
local function promote(g, now, limit)
  local due = redis.call('ZRANGEBYSCORE', key(g, K_SCHEDULED), '-inf', us(now), 'LIMIT', 0, limit)
  if #due == 0 then return 0 end
  local stamp = us(now)
  local states = hmget_many(key(g, K_STATE), due)
  local tenants = hmget_many(key(g, K_TENANTS), due)
  local P, pending = new_pushes(), {}
  for i, id in ipairs(due) do
    if states[i] then
      local status, rank = parse_state(states[i])
      push(P, g, id, rank, tenants[i], false)
      pending[#pending + 1], pending[#pending + 2] = id, 'pending:' .. rank .. ':' .. stamp
      tally(g, status, 'pending', tenants[i])
    end
  end
  flush_pushes(P)
  if #pending > 0 then call_many('HSET', key(g, K_STATE), pending) end
  call_many('ZREM', key(g, K_SCHEDULED), due)
  signal(g)
  return #due
end

-- per-tenant deltas as the caller applies them on Cluster: a flat list of tenant,
-- counter deltas (NCOUNTERS comma-separated), status deltas ("pending=1,running=-1")
local function tenant_deltas()
  local out, seen = {}, {}
  for tenant in pairs(TCOUNTS) do seen[tenant] = true end
  for tenant in pairs(TTALLY) do seen[tenant] = true end
  for tenant in pairs(seen) do
    local counts, statuses = TCOUNTS[tenant] or {}, {}
    local csv = {}
    for i = 1, NCOUNTERS do csv[i] = tostring(counts[i] or 0) end
    for status, n in pairs(TTALLY[tenant] or {}) do
      if n ~= 0 then statuses[#statuses + 1] = status .. '=' .. n end
    end
    out[#out + 1] = tenant
    out[#out + 1] = table.concat(csv, ',')
    out[#out + 1] = table.concat(statuses, ',')
  end
  return out
end

-- standalone: write the per-tenant counters and tallies under the prefix
-- (<prefix>:stats:tenant:{<t>}:<counter>, <prefix>:tenant:{<t>}:statuses) and list
-- each tenant in the tenant set
local function write_tenants()
  local tenants = gkey(G_TENANTS)
  local prefix = string.sub(tenants, 1, -9)  -- "<prefix>:tenants" without ":tenants"
  for tenant, counts in pairs(TCOUNTS) do
    redis.call('SADD', tenants, tenant)
    for index, n in pairs(counts) do
      if n ~= 0 then
        redis.call('INCRBY', prefix .. ':stats:tenant:{' .. tenant .. '}:' .. COUNTER_NAMES[index], n)
      end
    end
  end
  for tenant, t in pairs(TTALLY) do
    redis.call('SADD', tenants, tenant)
    for status, n in pairs(t) do
      if n ~= 0 then
        redis.call('HINCRBY', prefix .. ':tenant:{' .. tenant .. '}:statuses', status, n)
      end
    end
  end
end

-- write the summed counters and tallies; then the reply: the script's own values,
-- then (Cluster) the global counter deltas and the per-tenant deltas for the caller to
-- apply; standalone wrote them itself and returns two empty lists. Every script ends
-- here.
local function reply(values)
  add_lists()
  for g, counts in pairs(COUNTS) do
    for index, n in pairs(counts) do
      if n ~= 0 then redis.call('INCRBY', KEYS[(g - 1) * GROUP + QKEYS + index], n) end
    end
  end
  for g, t in pairs(TALLY) do
    for status, n in pairs(t) do
      if n ~= 0 then redis.call('HINCRBY', key(g, K_STATUSES), status, n) end
    end
  end
  if GLOBAL then
    for index = 1, NCOUNTERS do
      if DELTAS[index] ~= 0 then redis.call('INCRBY', gkey(index), DELTAS[index]) end
    end
    write_tenants()
  end
  if GLOBAL then
    values[#values + 1], values[#values + 2] = {}, {}
  else
    values[#values + 1], values[#values + 2] = DELTAS, tenant_deltas()
  end
  return values
end
