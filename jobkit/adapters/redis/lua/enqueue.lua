-- enqueue: store new pending or scheduled jobs, all or none (enqueue and enqueue_many).
-- The checks read each hash once per batch and the writes go in one command per key
-- (bodies, states, created, tenants, scheduled, ready sets, directory); counters and
-- tallies are summed per queue block and tenant, and counted once per batch.
-- KEYS   : one queue block per queue in the batch, then the global block (see _lib.lua)
-- ARGV   : 1 flags, 2 queue blocks, 3 job count n, 4 shape, 5 tenant, then each
--          block's queue name, then the jobs' values, by shape:
--          shape ''     (mixed) per job 8 values: block number, id, status
--                       (pending|scheduled), priority rank, run_at µs, created_at µs,
--                       job JSON, tenant ('' = none); ARGV[5] is ''
--          shape <rank> (uniform: one queue block, every job pending at that priority
--                       rank and of tenant ARGV[5], '' = none) per job 3 values: id,
--                       created_at µs, job JSON. Most batches are of this shape; it
--                       sends and converts 5 values less per job and skips per-job
--                       bookkeeping.
-- Returns (then deltas, tenant deltas, as every script):
--          {'OK'}       every job stored;
--          {'SAME'}     every job is already stored exactly so, untouched since (a
--                       retried call whose first reply was lost): nothing written;
--          {'DUP', id}  a job with that id exists: nothing written.
local n = tonumber(ARGV[3])
local UNIFORM = ARGV[4] ~= ''
local U_RANK, U_TENANT = tonumber(ARGV[4]), ARGV[5] ~= '' and ARGV[5]
local FIELDS = UNIFORM and 3 or 8
local FIRST = 6 + NGROUPS  -- ARGV index of job 1's first value
local function queue_name(g)
  return ARGV[5 + g]
end
-- job i's stored state string and JSON, in either shape (for the rare checks below)
local function state_of(i)
  if UNIFORM then return 'pending:' .. U_RANK end
  local b = FIRST + (i - 1) * FIELDS
  return ARGV[b + 2] .. ':' .. ARGV[b + 3]
end
local function json_of(i)
  return ARGV[FIRST + (i - 1) * FIELDS + (UNIFORM and 2 or 6)]
end

-- per queue block, a list per key of values to write (n: jobs so far); each job's
-- block and id, in order
local writes, blocks, ids = {}, {}, {}
local function new_writes()
  return {n = 0, bodies = {}, states = {}, created = {}, tenants = {}, scheduled = {}}
end
if UNIFORM then
  writes[1] = new_writes()
  for i = 1, n do blocks[i], ids[i] = 1, ARGV[FIRST + (i - 1) * FIELDS] end
else
  for i = 1, n do
    local b = FIRST + (i - 1) * FIELDS
    local g = tonumber(ARGV[b])
    if not writes[g] then writes[g] = new_writes() end
    blocks[i], ids[i] = g, ARGV[b + 1]
  end
end

-- which ids are stored already: standalone, the directory knows every queue's ids (a
-- lone job claims its id there in the same command: HSETNX writes only a new id);
-- on Cluster each queue's own hash is asked (the caller checked the other queues)
local found, claimed = {}, false
if GLOBAL then
  if n == 1 then
    claimed = redis.call('HSETNX', gkey(G_DIRECTORY), ids[1], queue_name(blocks[1])) == 1
    found[1] = not claimed
  elseif n > 0 then
    found = hmget_many(gkey(G_DIRECTORY), ids)
  end
else
  for g in pairs(writes) do
    local mine, at = {}, {}
    for i = 1, n do
      if blocks[i] == g then mine[#mine + 1], at[#at + 1] = ids[i], i end
    end
    for j, body in ipairs(hmget_many(key(g, K_JOBS), mine)) do found[at[j]] = body end
  end
end
local existing, same = nil, 0
for i = 1, n do
  if found[i] then
    existing = existing or ids[i]
    local g = blocks[i]
    local body = redis.call('HGET', key(g, K_JOBS), ids[i])
    local state = redis.call('HGET', key(g, K_STATE), ids[i])
    if body == json_of(i) and state == state_of(i) then same = same + 1 end
  end
end
if n > 0 and same == n then return reply({'SAME'}) end
if existing then return reply({'DUP', existing}) end

-- the main loop: per job, table appends only; names and counts are settled after it
-- (it reads ARGV by offset: one call less per value)
local P, directory, queues, woken = new_pushes(), {}, {}, {}
local counts = {}  -- counts[g][tenant or false][status] = jobs
if UNIFORM then
  local w, state, qname = writes[1], 'pending:' .. U_RANK, queue_name(1)
  local bodies, states, created, tenants = w.bodies, w.states, w.created, w.tenants
  for i = 1, n do
    local b, m, id = FIRST + (i - 1) * FIELDS, 2 * i, ids[i]
    bodies[m - 1], bodies[m] = id, ARGV[b + 2]
    states[m - 1], states[m] = id, state
    created[m - 1], created[m] = ARGV[b + 1], id
    if U_TENANT then tenants[m - 1], tenants[m] = id, U_TENANT end
    if GLOBAL then directory[m - 1], directory[m] = id, qname end
  end
  w.n = n
  push_run(P, 1, U_RANK, U_TENANT, ids)
  if n > 0 then
    counts[1] = {[U_TENANT] = {pending = n}}
    woken[1] = true
  end
else
  for i = 1, n do
    local b = FIRST + (i - 1) * FIELDS
    local g, id, status, rank = blocks[i], ids[i], ARGV[b + 2], ARGV[b + 3]
    local tenant = ARGV[b + 7]
    if tenant == '' then tenant = false end
    local w = writes[g]
    local m = 2 * w.n
    w.n = w.n + 1
    w.bodies[m + 1], w.bodies[m + 2] = id, ARGV[b + 6]
    w.states[m + 1], w.states[m + 2] = id, status .. ':' .. rank
    w.created[m + 1], w.created[m + 2] = ARGV[b + 5], id
    if tenant then w.tenants[#w.tenants + 1], w.tenants[#w.tenants + 2] = id, tenant end
    if status == 'pending' then
      push(P, g, id, tonumber(rank), tenant, false)
      woken[g] = true
    else
      w.scheduled[#w.scheduled + 1], w.scheduled[#w.scheduled + 2] = ARGV[b + 4], id
    end
    local by_tenant = counts[g]
    if not by_tenant then
      by_tenant = {}
      counts[g] = by_tenant
    end
    add(by_tenant, tenant, status, 1)
    if GLOBAL then directory[2 * i - 1], directory[2 * i] = id, queue_name(g) end
  end
end
for g, by_tenant in pairs(counts) do
  for tenant, statuses in pairs(by_tenant) do
    for status, jobs in pairs(statuses) do
      add(TALLY, g, status, jobs)
      if tenant then add(TTALLY, tenant, status, jobs) end
      bump(g, COUNTER.enqueued, jobs, tenant)
    end
  end
  queues[queue_name(g)] = true
end
for g, w in pairs(writes) do
  call_many('HSET', key(g, K_JOBS), w.bodies)
  call_many('HSET', key(g, K_STATE), w.states)
  call_many('ZADD', key(g, K_CREATED), w.created)
  if #w.tenants > 0 then call_many('HSET', key(g, K_TENANTS), w.tenants) end
  if #w.scheduled > 0 then call_many('ZADD', key(g, K_SCHEDULED), w.scheduled) end
end
flush_pushes(P)
if GLOBAL and n > 0 then
  if not claimed then call_many('HSET', gkey(G_DIRECTORY), directory) end
  for queue in pairs(queues) do redis.call('SADD', gkey(G_QUEUES), queue) end
end
for g in pairs(woken) do signal(g) end
return reply({'OK'})
