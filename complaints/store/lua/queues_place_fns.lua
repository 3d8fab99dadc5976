-- Shared block of the scripts that place cases (the route stage): `enqueue` puts a case
-- in its queue, `hold` folds cases under an incident. Needs: num.lua, queues_prelude.lua.
-- Must hold: placing is idempotent per case id (a case known already is left as it is,
-- and its first decision is returned), as the pipeline delivers at least once.

-- A case waits in queue q (state 'waiting') or is stored under its incident ('held',
-- expiring with the retention). A case known already is left as it is: -> {0, its decision}
local function enqueue(case, q, score, member, enqueued_ms, item_json, decision, state, ttl,
                       incident)
  local item = item_key(case)
  if redis.call('EXISTS', item) == 1 then
    return {0, redis.call('HGET', item, 'decision') or ''}
  end
  redis.call('HSET', item, 'case', case, 'queue', q, 'state', state, 'score', score,
             'member', member, 'enqueued_ms', enqueued_ms, 'claims', 0, 'item', item_json,
             'decision', decision, 'incident', incident)
  redis.call('SADD', prefix .. ':queues', q)
  if state == 'waiting' then
    redis.call('ZADD', queue_key(q), score, member)
    redis.call('ZADD', since_key(q), enqueued_ms, case)
  else
    redis.call('EXPIRE', item, ttl)
  end
  return {1, ''}
end
-- Links each known case of cases[first..last] to the incident; a case still waiting in
-- the incident's own queue leaves it and is held under the incident instead.
-- -> how many held
local function hold(incident_id, incident_queue, ttl, cases, first, last)
  local held = 0
  for i = first, last do
    local case = cases[i]
    local item = item_key(case)
    local f = redis.call('HMGET', item, 'state', 'queue', 'member')
    if f[1] then
      redis.call('HSET', item, 'incident', incident_id)
      if f[1] == 'waiting' and f[2] == incident_queue then
        redis.call('ZREM', queue_key(f[2]), f[3])
        redis.call('ZREM', since_key(f[2]), case)
        redis.call('HSET', item, 'state', 'held')
        redis.call('EXPIRE', item, ttl)
        held = held + 1
      end
    end
  end
  return held
end
