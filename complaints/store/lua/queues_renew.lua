-- Extend a live lease from now (WorkQueues.renew).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, case, handler, lease_ms.
-- Returns 'ok:<new expiry ms>', or why not (as queues_release.lua).
-- Must hold: only the handler of a live lease renews it; an expired one is not revived.
local now = now_ms()
local item, q = live_lease(ARGV[2], ARGV[3], now)
if not item then return q end
local expires = num(now + tonumber(ARGV[4]))
redis.call('HSET', item, 'lease_expires_ms', expires)
redis.call('ZADD', leases_key(q), expires, ARGV[2])
return 'ok:' .. expires
