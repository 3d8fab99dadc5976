-- Return expired leases to their queues (WorkQueues.reclaim_expired).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, limit (per queue), queue...
-- Returns how many expired lease entries were cleared (each case still leased is back
-- in its queue).
local now, total = now_ms(), 0
for i = 3, #ARGV do total = total + reclaim(ARGV[i], now, tonumber(ARGV[2])) end
return total
