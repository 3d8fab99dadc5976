-- Hand a case to another desk: escalation, reassignment (WorkQueues.move).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, case, queue, score, member, item.
-- Returns ok | held | done | not_found.
-- Must hold: any lease ends, and the case waits, in its old age order, in the new queue;
-- a held case only records its new desk; a done case stays done. Idempotent.
local case, q = ARGV[2], ARGV[3]
local item = item_key(case)
local f = redis.call('HMGET', item, 'state', 'queue', 'member')
if not f[1] then return 'not_found' end
if f[1] == 'done' then return 'done' end
if f[1] == 'waiting' then
  redis.call('ZREM', queue_key(f[2]), f[3])
  redis.call('ZREM', since_key(f[2]), case)
elseif f[1] == 'leased' then
  redis.call('ZREM', leases_key(f[2]), case)
  redis.call('HDEL', item, 'handler', 'lease_expires_ms', 'claimed_ms')
end
redis.call('HSET', item, 'queue', q, 'score', ARGV[4], 'member', ARGV[5], 'item', ARGV[6])
redis.call('SADD', prefix .. ':queues', q)
if f[1] == 'held' then return 'held' end
redis.call('HSET', item, 'state', 'waiting')
redis.call('ZADD', queue_key(q), ARGV[4], ARGV[5])
redis.call('ZADD', since_key(q), redis.call('HGET', item, 'enqueued_ms'), case)
return 'ok'
