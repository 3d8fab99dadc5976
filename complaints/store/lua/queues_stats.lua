-- Depth, in progress, oldest wait and breaches per queue (WorkQueues.stats).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, queue...
-- Returns now (ms), then per queue: depth, in_progress, oldest enqueued ms (or -1),
-- breaches (waiting past their due time), expired_leases.
-- Must hold: a score is severity rank * 1e13 + due ms (ranks 1 to 4), so the breaches of a
-- rank are its scores below rank * 1e13 + now. Read-only.
local now = now_ms()
local out = {num(now)}
for i = 2, #ARGV do
  local q = ARGV[i]
  local oldest = redis.call('ZRANGE', since_key(q), 0, 0, 'WITHSCORES')
  local breaches = 0
  for rank = 1, 4 do
    local base = rank * 1e13
    breaches = breaches + redis.call('ZCOUNT', queue_key(q), num(base), '(' .. num(base + now))
  end
  table.insert(out, redis.call('ZCARD', queue_key(q)))
  table.insert(out, redis.call('ZCARD', leases_key(q)))
  table.insert(out, oldest[2] or '-1')
  table.insert(out, breaches)
  table.insert(out, redis.call('ZCOUNT', leases_key(q), '-inf', num(now)))
end
return out
