-- Claim the best waiting case of a queue (WorkQueues.claim).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, queue, handler, lease_ms, reclaim_limit.
-- Returns the claimed item's hash (HGETALL), or false when the queue is empty.
-- Must hold: expired leases go back first (at most reclaim_limit, which bounds the run
-- time); popping the case and recording its lease are one step, so no case is leased
-- twice. A member is "{enqueued_ms:013d}|{case_id}": the case id starts at character 15.
local q, handler, lease = ARGV[2], ARGV[3], tonumber(ARGV[4])
local now = now_ms()
reclaim(q, now, tonumber(ARGV[5]))
while true do
  local popped = redis.call('ZPOPMIN', queue_key(q))
  if #popped == 0 then return false end
  local case = string.sub(popped[1], 15)
  redis.call('ZREM', since_key(q), case)
  local item = item_key(case)
  local f = redis.call('HMGET', item, 'state', 'queue')
  if f[1] == 'waiting' and f[2] == q then
    local expires = now + lease
    redis.call('HSET', item, 'state', 'leased', 'handler', handler,
               'lease_expires_ms', num(expires), 'claimed_ms', num(now))
    redis.call('HINCRBY', item, 'claims', 1)
    redis.call('ZADD', leases_key(q), num(expires), case)
    return redis.call('HGETALL', item)
  end
  -- an entry without a waiting item (deleted by hand, or stale): dropped, try the next
end
