-- enqueue: store new pending or scheduled jobs, all or none (enqueue and enqueue_many).
-- KEYS   : one queue block per queue in the batch, then the global block (see _lib.lua)
-- ARGV   : 1 flags, 2 queue blocks, 3 job count n, then per job 9 values:
--          block number, id, status (pending|scheduled), priority rank, run_at µs,
--          created_at µs, job JSON, queue name, tenant ('' = none)
-- Returns: {'OK', deltas}    every job stored;
--          {'SAME', deltas}  every job is already stored exactly so, untouched since (a
--                            retried call whose first reply was lost): nothing written;
--          {'DUP', id, deltas} a job with that id exists: nothing written.
local n = tonumber(ARGV[3])
local FIELDS = 9

local existing, same = nil, 0
for i = 0, n - 1 do
  local a = 4 + i * FIELDS
  local g, id = tonumber(ARGV[a]), ARGV[a + 1]
  local stored = redis.call('HGET', key(g, K_JOBS), id)
  if stored or (GLOBAL and redis.call('HEXISTS', gkey(G_DIRECTORY), id) == 1) then
    existing = existing or id
    local state = redis.call('HGET', key(g, K_STATE), id)
    if stored == ARGV[a + 6] and state == ARGV[a + 2] .. ':' .. ARGV[a + 3] then
      same = same + 1
    end
  end
end
if n > 0 and same == n then return reply({'SAME'}) end
if existing then return reply({'DUP', existing}) end

local woken = {}
for i = 0, n - 1 do
  local a = 4 + i * FIELDS
  local g, id, status, rank = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  redis.call('HSET', key(g, K_JOBS), id, ARGV[a + 6])
  redis.call('HSET', key(g, K_STATE), id, status .. ':' .. rank)
  redis.call('ZADD', key(g, K_CREATED), ARGV[a + 5], id)
  local tenant = ARGV[a + 8] ~= '' and ARGV[a + 8]
  if tenant then redis.call('HSET', key(g, K_TENANTS), id, tenant) end
  index(g, id, status, rank, ARGV[a + 4], false, tenant)
  tally(g, nil, status, tenant)
  bump(g, COUNTER.enqueued, 1, tenant)
  if GLOBAL then
    redis.call('HSET', gkey(G_DIRECTORY), id, ARGV[a + 7])
    redis.call('SADD', gkey(G_QUEUES), ARGV[a + 7])
  end
  if status == 'pending' then woken[g] = true end
end
for g in pairs(woken) do signal(g) end
return reply({'OK'})
