-- reclaim: hand back jobs whose lease expired (second half of reclaim_abandoned; the
-- caller read the candidates and computed each job's next JSON with lifecycle.reclaim).
-- A job moves only if the same token still holds its lease AND the lease is still
-- expired at now, so a renewed lease or a concurrent reclaimer wins cleanly.
-- KEYS   : one queue block, then the global block on standalone Redis (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 now µs ('' = Redis TIME), then per job 7 values:
--          id, token, status (pending | dead), priority rank, death µs (dead only),
--          job JSON, counter deltas (NCOUNTERS comma-separated)
-- Pending jobs go to the FRONT of their ready list, in the order given (the first job
-- given is served first). Returns: {1 | 0 per job (0: left alone), deltas, tenant deltas}
local now = now_us(ARGV[3])
local FIELDS = 7
local n = (#ARGV - 3) / FIELDS
local out = {}
local woken = false
for i = n - 1, 0, -1 do
  local a = 4 + i * FIELDS
  local id, token, status, rank = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local expiry = redis.call('ZSCORE', key(1, K_INFLIGHT), id)
  if redis.call('HGET', key(1, K_LEASES), id) == token and expiry and tonumber(expiry) <= now then
    local tenant = end_lease(1, id, ARGV[a + 5], status, rank, ARGV[a + 4], true)
    bump_all(1, ARGV[a + 6], tenant)
    if status == 'pending' then woken = true end
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
if woken then signal(1) end
return reply(out)
