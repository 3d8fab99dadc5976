-- Lock the free cases and load their snapshots, in one round trip (CaseStore.lock_and_load).
-- KEYS: none (keys are built from the prefix).
-- ARGV[1]: prefix; ARGV[2]: lock ttl (ms); then (case id, token) pairs.
-- Returns per case: its snapshot ('' if none) if its lock was free and is now ours,
-- else false (nil).
-- Must hold: a lock is only taken when free (SET NX), so one worker decides for a case at
-- once; the ttl frees the lock of a worker that died.
local p, ttl, out = ARGV[1], ARGV[2], {}
for i = 3, #ARGV, 2 do
  if redis.call('SET', p .. ':case-lock:' .. ARGV[i], ARGV[i + 1], 'NX', 'PX', ttl) then
    out[#out + 1] = redis.call('GET', p .. ':case:' .. ARGV[i]) or ''
  else
    out[#out + 1] = false
  end
end
return out
