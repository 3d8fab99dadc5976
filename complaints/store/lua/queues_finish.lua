-- The case ended (closed or terminated): whoever holds it, it leaves its queue for good
-- (WorkQueues.finish).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, case, done_ttl_s.
-- Returns 1 when it was finished now, 0 when unknown or done already. Idempotent.
local case = ARGV[2]
local item = item_key(case)
local f = redis.call('HMGET', item, 'state', 'queue', 'member')
if not f[1] or f[1] == 'done' then return 0 end
redis.call('ZREM', queue_key(f[2]), f[3])
redis.call('ZREM', since_key(f[2]), case)
redis.call('ZREM', leases_key(f[2]), case)
redis.call('HSET', item, 'state', 'done', 'done_ms', num(now_ms()))
redis.call('HDEL', item, 'lease_expires_ms')
redis.call('EXPIRE', item, ARGV[3])
return 1
