-- dequeue: promote due jobs of one queue, then claim up to `count` ready jobs (strict
-- priority, then FIFO) into in-flight: each gets a lease (owner token, expiry) and the
-- state `running:<rank>:<now>`. The job JSON is returned untouched.
-- KEYS   : one queue block (see _lib.lua); no global keys are touched
-- ARGV   : 1 global flag, 2 '1', 3 now µs ('' = Redis TIME), 4 lease µs, 5 count,
--          6 token prefix (unique per call), 7 promotion limit
-- Returns: {now µs, lease expiry µs, id, token, JSON or false, id, token, ..., deltas};
--          false marks an id whose body is missing (the caller quarantines it).
local now = now_us(ARGV[3])
local expires = now + tonumber(ARGV[4])
local want = tonumber(ARGV[5])
promote(1, now, tonumber(ARGV[7]))

local out = {us(now), us(expires)}
local stamp, lease = us(now), us(expires)
local got = 0
for rank = 0, NPRIO - 1 do
  if got >= want then break end
  local ids = redis.call('LPOP', ready_key(1, rank), want - got)
  if ids then
    for _, id in ipairs(ids) do
      got = got + 1
      local token = ARGV[6] .. got
      redis.call('HSET', key(1, K_STATE), id, 'running:' .. rank .. ':' .. stamp)
      redis.call('HSET', key(1, K_LEASES), id, token)
      redis.call('ZADD', key(1, K_INFLIGHT), lease, id)
      tally(1, 'pending', 'running')
      out[#out + 1] = id
      out[#out + 1] = token
      out[#out + 1] = redis.call('HGET', key(1, K_JOBS), id)
    end
  end
end
return reply(out)
