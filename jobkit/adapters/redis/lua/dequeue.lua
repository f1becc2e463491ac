-- dequeue: promote due jobs of one queue, then claim up to `count` ready jobs (strict
-- priority; within a priority, tenants in turns, see push_ready) into in-flight: each
-- gets a lease (owner token, expiry) and the state `running:<rank>:<now>`. The job
-- JSON is returned untouched. With tenant groups given, only their jobs are claimed.
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

local out = {us(now), us(expires)}
local stamp, lease = us(now), us(expires)
local got = 0

local function claim(id, rank, tenant)
  got = got + 1
  local token = ARGV[6] .. got
  redis.call('HSET', key(1, K_STATE), id, 'running:' .. rank .. ':' .. stamp)
  redis.call('HSET', key(1, K_LEASES), id, token)
  redis.call('ZADD', key(1, K_INFLIGHT), lease, id)
  tally(1, 'pending', 'running', tenant)
  out[#out + 1] = id
  out[#out + 1] = token
  out[#out + 1] = redis.call('HGET', key(1, K_JOBS), id)
end

for rank = 0, NPRIO - 1 do
  if got >= want then break end
  if allowed then
    while got < want do
      local id, tenant = next_allowed(rank)
      if not id then break end
      pull_ready(1, id, rank, tenant)
      claim(id, rank, tenant)
    end
  else
    local popped = redis.call('ZPOPMIN', ready_key(1, rank), want - got)
    for i = 1, #popped, 2 do
      local id = popped[i]
      local tenant = tenant_of(1, id)
      redis.call('ZREM', group_key(1, rank, tenant), id)
      claim(id, rank, tenant)
    end
  end
end
return reply(out)
