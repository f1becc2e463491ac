-- promote_due: move scheduled/retrying jobs whose run_at <= now to the back of their
-- ready list (earliest first; equal times by id), at most `limit` per call.
-- KEYS   : one queue block (see _lib.lua)
-- ARGV   : 1 flags, 2 '1', 3 now µs ('' = Redis TIME), 4 limit
-- Returns: {moved, deltas, tenant deltas}
return reply({promote(1, now_us(ARGV[3]), tonumber(ARGV[4]))})
