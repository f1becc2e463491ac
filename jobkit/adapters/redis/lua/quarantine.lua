-- quarantine: take a claimed job whose stored body cannot be read out of the queue and
-- keep its raw payload with the error, so one bad record never stops a worker.
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 id, 4 lease token, 5 quarantine record (JSON made
--          by the caller: payload, error, time)
-- Returns: {1 quarantined | 0 the lease is not held by that token, deltas, tenant deltas}
local id = ARGV[3]
if redis.call('HGET', key(1, K_LEASES), id) ~= ARGV[4] then return reply({0}) end
local tenant = tenant_of(1, id)
unindex(1, id, 'running', nil, tenant)
redis.call('HDEL', key(1, K_JOBS), id)
redis.call('HDEL', key(1, K_STATE), id)
redis.call('HDEL', key(1, K_TENANTS), id)
redis.call('ZREM', key(1, K_CREATED), id)
redis.call('HSET', key(1, K_QUARANTINE), id, ARGV[5])
tally(1, 'running', nil, tenant)
bump(1, COUNTER.quarantined, 1, tenant)
if GLOBAL then redis.call('HDEL', gkey(G_DIRECTORY), id) end
return reply({1})
