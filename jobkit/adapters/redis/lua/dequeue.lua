-- dequeue: promote due jobs of one queue, then claim up to `count` ready jobs (strict
-- priority; within a priority, tenants in turns: "Ready pushes" in _lib.lua) into
-- in-flight: each gets a lease (owner token, expiry) and the state
-- `running:<rank>:<now>`. The job JSON is returned untouched. With tenant groups
-- given, only their jobs are claimed.
-- The writes of a batch go in one command each (states, leases, in-flight).
-- KEYS   : one queue block (see _lib.lua); no global keys are touched
-- ARGV   : 1 flags, 2 '1', 3 now µs ('' = Redis TIME), 4 lease µs, 5 count,
--          6 token prefix (unique per call), 7 promotion limit, 8.. the tenant groups
--          to serve ('' = jobs without a tenant); none given: every job
-- Returns: {now µs, lease expiry µs, id, token, JSON or false, id, token, ..., deltas,
--          tenant deltas}; false marks an id whose body is missing (the caller
--          quarantines it).
local now = now_us(ARGV[3])
local expires = now + tonumber(ARGV[4])
local want = tonumber(ARGV[5])
promote(1, now, tonumber(ARGV[7]))

-- the groups a restricted call serves: {tenant or false, ...}, or nil for every job
local allowed = nil
if #ARGV >= 8 then
  allowed = {}
  for a = 8, #ARGV do
    allowed[#allowed + 1] = ARGV[a] ~= '' and ARGV[a]
  end
end

-- the id and tenant of the next job of a level among the allowed groups, or nil:
-- the group whose first job has the lowest score (equal scores: the level's order)
local function next_allowed(rank)
  local best_id, best_score, best_tenant = nil, nil, nil
  for _, tenant in ipairs(allowed) do
    local hit = redis.call('ZRANGE', group_key(1, rank, tenant), 0, 0, 'WITHSCORES')
    if hit[1] then
      local score = tonumber(hit[2])
      local better = best_score == nil or score < best_score
      if not better and score == best_score then
        local level = ready_key(1, rank)
        better = redis.call('ZRANK', level, hit[1]) < redis.call('ZRANK', level, best_id)
      end
      if better then best_id, best_score, best_tenant = hit[1], score, tenant end
    end
  end
  return best_id, best_tenant
end

-- the next ready jobs of a level, at most `count`, taken out of their ready sets:
-- ids and their tenants (false: none)
local function take(rank, count)
  local ids, tenants = {}, {}
  if allowed then
    while #ids < count do
      local id, tenant = next_allowed(rank)
      if not id then break end
      pull_ready(1, id, rank, tenant)
      ids[#ids + 1], tenants[#ids + 1] = id, tenant
    end
    return ids, tenants
  end
  local popped = redis.call('ZPOPMIN', ready_key(1, rank), count)
  for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
  if #ids == 0 then return ids, tenants end
  tenants = hmget_many(key(1, K_TENANTS), ids)
  local groups = {}  -- group set key -> its ids
  for i, id in ipairs(ids) do
    local k = group_key(1, rank, tenants[i])
    local members = groups[k]
    if not members then
      members = {}
      groups[k] = members
    end
    members[#members + 1] = id
  end
  for k, members in pairs(groups) do call_many('ZREM', k, members) end
  return ids, tenants
end

local stamp, lease = us(now), us(expires)
local out = {stamp, lease}
local got = 0
for rank = 0, NPRIO - 1 do
  if got >= want then break end
  local ids, tenants = take(rank, want - got)
  if #ids > 0 then
    local states, leases, inflight = {}, {}, {}
    local running = 'running:' .. rank .. ':' .. stamp
    local bodies = hmget_many(key(1, K_JOBS), ids)
    for i, id in ipairs(ids) do
      got = got + 1
      local token = ARGV[6] .. got
      states[#states + 1], states[#states + 2] = id, running
      leases[#leases + 1], leases[#leases + 2] = id, token
      inflight[#inflight + 1], inflight[#inflight + 2] = lease, id
      tally(1, 'pending', 'running', tenants[i])
      out[#out + 1], out[#out + 2], out[#out + 3] = id, token, bodies[i]
    end
    call_many('HSET', key(1, K_STATE), states)
    call_many('HSET', key(1, K_LEASES), leases)
    call_many('ZADD', key(1, K_INFLIGHT), inflight)
  end
end
return reply(out)
