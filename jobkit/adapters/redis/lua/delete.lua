-- delete: remove a job from every index of its queue and from storage. A running job's
-- lease goes too, so its worker's ack is refused.
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 id
-- Returns: {1 deleted | 0 no such job in this queue, deltas, tenant deltas}
local id = ARGV[3]
local current = redis.call('HGET', key(1, K_STATE), id)
if not current then return reply({0}) end
local status, rank = parse_state(current)
local tenant = tenant_of(1, id)
unindex(1, id, status, rank, tenant)
redis.call('HDEL', key(1, K_JOBS), id)
redis.call('HDEL', key(1, K_STATE), id)
redis.call('HDEL', key(1, K_TENANTS), id)
redis.call('ZREM', key(1, K_CREATED), id)
tally(1, status, nil, tenant)
if GLOBAL then redis.call('HDEL', gkey(G_DIRECTORY), id) end
return reply({1})
