-- release: give back claimed jobs whose handler never ran (a stopping worker's
-- prefetched batch). Each job whose lease the token still holds leaves in-flight and
-- goes to the FRONT of its ready list as pending (the first given is served first),
-- with the JSON the caller computed (lifecycle.release). Nothing is counted.
-- KEYS   : one queue block (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', then per job 4 values: id, token, priority rank, JSON
-- Returns: {1 | 0 per job (0: the lease is not held; left alone), deltas, tenant deltas}
local FIELDS = 4
local n = (#ARGV - 2) / FIELDS
local out = {}
local released = false
for i = n - 1, 0, -1 do
  local a = 3 + i * FIELDS
  local id, token, rank = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  if redis.call('HGET', key(1, K_LEASES), id) == token then
    end_lease(1, id, ARGV[a + 3], 'pending', rank, nil, true)
    released = true
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
if released then signal(1) end
return reply(out)
