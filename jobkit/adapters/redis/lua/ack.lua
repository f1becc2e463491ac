-- ack: record the outcomes of claimed jobs (completed | retrying | dead) and release
-- their leases, each only if its lease is still held by the claim's token. Covers
-- complete, fail -> retry (scheduled at run_at) and fail -> dead (dead letters).
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 history size, then per job 7 values:
--          id, token, status, priority rank, score (retrying: run_at µs; dead: death µs;
--          else ignored), outcome JSON, counter deltas (NCOUNTERS comma-separated)
-- Returns: {1 | 0 per job, deltas, tenant deltas}: 1 recorded; 0 refused: the lease
--          is no longer held by that token (counted as lease_lost). A second ack of
--          the same claim is refused too, so a retried call whose first reply was lost
--          reports a refusal while the first outcome stands.
local keep = tonumber(ARGV[3])
local FIELDS = 7
local out = {}
local recorded = 0
for a = 4, #ARGV, FIELDS do
  local id, token, status, rank = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local json = ARGV[a + 5]
  if redis.call('HGET', key(1, K_LEASES), id) == token then
    local tenant = end_lease(1, id, json, status, rank, ARGV[a + 4], false)
    bump_all(1, ARGV[a + 6], tenant)
    redis.call('LPUSH', key(1, K_HISTORY), json)
    recorded = recorded + 1
    out[#out + 1] = 1
  else
    bump(1, COUNTER.lease_lost, 1, tenant_of(1, id))
    out[#out + 1] = 0
  end
end
if recorded > 0 then redis.call('LTRIM', key(1, K_HISTORY), 0, keep - 1) end
return reply(out)
