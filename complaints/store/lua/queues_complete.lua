-- End a lease for good: the case leaves its queue (WorkQueues.complete).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, case, handler, done_ttl_s.
-- Returns 'ok', or why not (as queues_release.lua).
-- Must hold: only the handler of a live lease completes it; the done item is kept for
-- done_ttl_s, so a late enqueue of the same case is still recognised.
local now = now_ms()
local item, q = live_lease(ARGV[2], ARGV[3], now)
if not item then return q end
redis.call('ZREM', leases_key(q), ARGV[2])
redis.call('HSET', item, 'state', 'done', 'done_ms', num(now))
redis.call('HDEL', item, 'lease_expires_ms')
redis.call('EXPIRE', item, ARGV[4])
return 'ok'
