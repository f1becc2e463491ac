-- move: replace a job that is not running with a new version, if its state is still the
-- one the caller read (compare-and-set). The one script behind save, cancel and
-- retry_dead: the caller computes the new JSON with the lifecycle functions.
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 id, 4 expected state ('' = no such job yet),
--          5 new status, 6 priority rank, 7 score (run_at µs if scheduled/retrying,
--          death µs if dead), 8 created_at µs, 9 job JSON, 10 counter deltas
--          (NCOUNTERS comma-separated), 11 queue name, 12 tenant ('' = none)
-- Returns: {'OK' | 'CONFLICT' (the state changed: read again), deltas, tenant deltas}
local id, status, rank = ARGV[3], ARGV[5], tonumber(ARGV[6])
local current = redis.call('HGET', key(1, K_STATE), id)
if (current or '') ~= ARGV[4] then return reply({'CONFLICT'}) end
local tenant = ARGV[12] ~= '' and ARGV[12]
local before = nil
if current then
  local old_rank
  local old_tenant = tenant_of(1, id)
  before, old_rank = parse_state(current)
  unindex(1, id, before, old_rank, old_tenant)
  tally(1, before, nil, old_tenant)
end
redis.call('HSET', key(1, K_JOBS), id, ARGV[9])
redis.call('HSET', key(1, K_STATE), id, status .. ':' .. rank)
redis.call('ZADD', key(1, K_CREATED), ARGV[8], id)
if tenant then
  redis.call('HSET', key(1, K_TENANTS), id, tenant)
else
  redis.call('HDEL', key(1, K_TENANTS), id)
end
index(1, id, status, rank, ARGV[7], false, tenant)
tally(1, nil, status, tenant)
bump_all(1, ARGV[10], tenant)
if GLOBAL then
  redis.call('HSET', gkey(G_DIRECTORY), id, ARGV[11])
  redis.call('SADD', gkey(G_QUEUES), ARGV[11])
end
if status == 'pending' then signal(1) end
return reply({'OK'})
