-- ack: record the outcomes of claimed jobs (completed | retrying | dead) and release
-- their leases, each only if its lease is still held by the claim's token. Covers
-- complete, fail -> retry (scheduled at run_at) and fail -> dead (dead letters).
-- The writes of the whole batch go in one command each (bodies, states, leases,
-- in-flight, history), not one per job.
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 history size, then per job 7 values:
--          id, token, status, priority rank, score (retrying: run_at µs; dead: death µs;
--          else ignored), outcome JSON, counter deltas (NCOUNTERS comma-separated)
-- Returns: {1 | 0 per job, deltas, tenant deltas}: 1 recorded; 0 refused: the lease
--          is no longer held by that token (counted as lease_lost). A second ack of
--          the same claim is refused too (also within one call), so a retried call
--          whose first reply was lost reports a refusal while the first outcome stands.
local keep = tonumber(ARGV[3])
local FIELDS = 7
local n = (#ARGV - 3) / FIELDS
local ids = {}
for i = 1, n do ids[i] = ARGV[4 + (i - 1) * FIELDS] end
if n == 0 then return reply({}) end
local leases = hmget_many(key(1, K_LEASES), ids)
local tenants = hmget_many(key(1, K_TENANTS), ids)

local out, recorded, bodies, states, history = {}, {}, {}, {}, {}
local done = {}
for i = 1, n do
  local a = 4 + (i - 1) * FIELDS
  local id, token, status, rank = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local tenant = tenants[i]
  if leases[i] == token and not done[id] then
    done[id] = true
    recorded[#recorded + 1] = id
    bodies[#bodies + 1] = id
    bodies[#bodies + 1] = ARGV[a + 5]
    states[#states + 1] = id
    states[#states + 1] = status .. ':' .. rank
    history[#history + 1] = ARGV[a + 5]
    index(1, id, status, tonumber(rank), ARGV[a + 4], false, tenant)
    tally(1, 'running', status, tenant)
    bump_all(1, ARGV[a + 6], tenant)
    out[i] = 1
  else
    bump(1, COUNTER.lease_lost, 1, tenant)
    out[i] = 0
  end
end
if #recorded > 0 then
  call_many('ZREM', key(1, K_INFLIGHT), recorded)
  call_many('HDEL', key(1, K_LEASES), recorded)
  call_many('HSET', key(1, K_JOBS), bodies)
  call_many('HSET', key(1, K_STATE), states)
  call_many('LPUSH', key(1, K_HISTORY), history)
  redis.call('LTRIM', key(1, K_HISTORY), 0, keep - 1)
end
return reply(out)
