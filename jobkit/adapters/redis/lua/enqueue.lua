-- enqueue: store new pending or scheduled jobs, all or none (enqueue and enqueue_many).
-- The checks read each hash once per batch and the writes go in one command per key
-- (bodies, states, created, tenants, scheduled, ready sets, directory).
-- KEYS   : one queue block per queue in the batch, then the global block (see _lib.lua)
-- ARGV   : 1 flags, 2 queue blocks, 3 job count n, then per job 9 values:
--          block number, id, status (pending|scheduled), priority rank, run_at µs,
--          created_at µs, job JSON, queue name, tenant ('' = none)
-- Returns (then deltas, tenant deltas, as every script):
--          {'OK'}       every job stored;
--          {'SAME'}     every job is already stored exactly so, untouched since (a
--                       retried call whose first reply was lost): nothing written;
--          {'DUP', id}  a job with that id exists: nothing written.
local n = tonumber(ARGV[3])
local FIELDS = 9
local function arg(i, k)  -- value k (0-based, as above) of job i (1-based)
  return ARGV[4 + (i - 1) * FIELDS + k]
end

-- per queue block: its jobs' positions; a list per block and key of values to write
local positions, writes = {}, {}
for i = 1, n do
  local g = tonumber(arg(i, 0))
  if not positions[g] then
    positions[g] = {}
    writes[g] = {bodies = {}, states = {}, created = {}, tenants = {}, scheduled = {}}
  end
  positions[g][#positions[g] + 1] = i
end

-- the stored body of each id (its queue's) and, standalone, whether any queue has it
local stored, known = {}, {}
for g, list in pairs(positions) do
  local ids = {}
  for j, i in ipairs(list) do ids[j] = arg(i, 1) end
  for j, body in ipairs(hmget_many(key(g, K_JOBS), ids)) do stored[list[j]] = body end
end
if GLOBAL and n > 0 then
  local ids = {}
  for i = 1, n do ids[i] = arg(i, 1) end
  known = hmget_many(gkey(G_DIRECTORY), ids)
end
local existing, same = nil, 0
for i = 1, n do
  if stored[i] or known[i] then
    existing = existing or arg(i, 1)
    local state = redis.call('HGET', key(tonumber(arg(i, 0)), K_STATE), arg(i, 1))
    if stored[i] == arg(i, 6) and state == arg(i, 2) .. ':' .. arg(i, 3) then
      same = same + 1
    end
  end
end
if n > 0 and same == n then return reply({'SAME'}) end
if existing then return reply({'DUP', existing}) end

local P, directory, queues, woken = new_pushes(), {}, {}, {}
for i = 1, n do
  local g, id, status, rank = tonumber(arg(i, 0)), arg(i, 1), arg(i, 2), tonumber(arg(i, 3))
  local tenant = arg(i, 8) ~= '' and arg(i, 8)
  local w = writes[g]
  w.bodies[#w.bodies + 1], w.bodies[#w.bodies + 2] = id, arg(i, 6)
  w.states[#w.states + 1], w.states[#w.states + 2] = id, status .. ':' .. rank
  w.created[#w.created + 1], w.created[#w.created + 2] = arg(i, 5), id
  if tenant then w.tenants[#w.tenants + 1], w.tenants[#w.tenants + 2] = id, tenant end
  if status == 'pending' then
    push(P, g, id, rank, tenant, false)
    woken[g] = true
  else
    w.scheduled[#w.scheduled + 1], w.scheduled[#w.scheduled + 2] = arg(i, 4), id
  end
  tally(g, nil, status, tenant)
  bump(g, COUNTER.enqueued, 1, tenant)
  if GLOBAL then
    directory[#directory + 1], directory[#directory + 2] = id, arg(i, 7)
    queues[arg(i, 7)] = true
  end
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
  call_many('HSET', gkey(G_DIRECTORY), directory)
  for queue in pairs(queues) do redis.call('SADD', gkey(G_QUEUES), queue) end
end
for g in pairs(woken) do signal(g) end
return reply({'OK'})
