-- Shared block of every work-queue script: key names, the server clock, putting a case
-- back in its queue. Needs: num.lua before it. ARGV[1] of every script: the key prefix.
-- Must hold: a case is never both waiting and leased, or leased twice; lease times come
-- from the Redis server clock (TIME), one clock for every handler machine.
local prefix = ARGV[1]
local function item_key(case) return prefix .. ':item:' .. case end
local function queue_key(q) return prefix .. ':queue:' .. q end
local function since_key(q) return prefix .. ':queue:' .. q .. ':since' end
local function leases_key(q) return prefix .. ':queue:' .. q .. ':leases' end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- a leased case goes back to its queue, in the place its score and member give it
local function put_back(case, item)
  local f = redis.call('HMGET', item, 'queue', 'score', 'member', 'enqueued_ms')
  redis.call('ZREM', leases_key(f[1]), case)
  redis.call('HSET', item, 'state', 'waiting')
  redis.call('HDEL', item, 'handler', 'lease_expires_ms', 'claimed_ms')
  redis.call('ZADD', queue_key(f[1]), f[2], f[3])
  redis.call('ZADD', since_key(f[1]), f[4], case)
end
local function reclaim(q, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', leases_key(q), '-inf', num(now),
                             'LIMIT', 0, limit)
  for _, case in ipairs(expired) do
    local item = item_key(case)
    if redis.call('HGET', item, 'state') == 'leased' then
      put_back(case, item)
    else
      redis.call('ZREM', leases_key(q), case)
    end
  end
  return #expired
end
-- the item key and queue of a live lease held by `handler`, or nil and why not
local function live_lease(case, handler, now)
  local item = item_key(case)
  local f = redis.call('HMGET', item, 'state', 'handler', 'lease_expires_ms', 'queue')
  if not f[1] then return nil, 'not_found' end
  if f[1] ~= 'leased' then return nil, 'not_leased:' .. f[1] end
  if tonumber(f[3]) <= now then
    put_back(case, item)
    return nil, 'expired:' .. f[2]
  end
  if f[2] ~= handler then return nil, 'held_by:' .. f[2] end
  return item, f[4]
end
