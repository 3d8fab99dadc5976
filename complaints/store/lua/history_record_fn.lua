-- Shared block: `record(key, case, at_ms, window_ms)`, one case in a customer's history.
-- Needs: num.lua before it.
-- Returns the number of OTHER cases of the customer within the window before the case,
-- measured from the case's first delivery.
-- Must hold: idempotent per case id (ZADD NX keeps the first delivery's time), so a
-- redelivered case is not its own repeat and gets the same answer; entries older than
-- two windows are dropped and the key expires after two windows of silence.
local function record(key, case, at_ms, window_ms)
  local window = tonumber(window_ms)
  redis.call('ZADD', key, 'NX', at_ms, case)
  local at = tonumber(redis.call('ZSCORE', key, case))  -- first delivery's time
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. num(at - 2 * window))
  redis.call('PEXPIRE', key, num(2 * window))
  return redis.call('ZCOUNT', key, num(at - window), num(at)) - 1
end
