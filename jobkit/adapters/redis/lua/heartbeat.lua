-- heartbeat: extend the leases a worker holds to now + lease.
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 now µs ('' = Redis TIME), 4 lease µs,
--          then pairs: id, token
-- Returns: {expiry µs or 0 per pair (0: the lease is not held by that token; counted
--          as lease_lost), deltas, tenant deltas}
local now = now_us(ARGV[3])
local lease = us(now + tonumber(ARGV[4]))
local out = {}
for a = 5, #ARGV, 2 do
  local id, token = ARGV[a], ARGV[a + 1]
  if redis.call('HGET', key(1, K_LEASES), id) == token then
    redis.call('ZADD', key(1, K_INFLIGHT), 'XX', lease, id)
    out[#out + 1] = lease
  else
    bump(1, COUNTER.lease_lost, 1, tenant_of(1, id))
    out[#out + 1] = 0
  end
end
return reply(out)
