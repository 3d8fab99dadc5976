-- Release case locks (CaseStore.unlock).
-- KEYS: none. ARGV[1]: prefix; then (case id, token) pairs.
-- Returns how many were still ours and are released.
-- Must hold: a lock that expired and was taken since by another worker (another token)
-- stays.
local p, released = ARGV[1], 0
for i = 2, #ARGV, 2 do
  local key = p .. ':case-lock:' .. ARGV[i]
  if redis.call('GET', key) == ARGV[i + 1] then released = released + redis.call('DEL', key) end
end
return released
