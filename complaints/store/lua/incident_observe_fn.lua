-- Shared block: `observe(...)`, one case counted towards a mass incident.
-- Needs: num.lua before it.
-- Arguments: prefix, where (category:area), case, at_ms, window_ms, threshold, proposed id,
-- queue, severity, now_ms, retention_ms, category, area.
-- Returns {role (opened|joined|none), id, queue, severity, opened_with (comma-separated)};
-- for 'none', the fifth item is the count in the fullest window.
-- Must hold: an incident opens exactly once, whoever sees the K-th case (the script is
-- atomic); a redelivered case gets the same answer as the first time and is not counted
-- twice (its link to the incident is kept for the retention).
local function observe(prefix, where, case, at_ms, window_ms, threshold, proposed_id,
                       queue, severity, now_ms, retention, category, area)
  local at, window, k = tonumber(at_ms), tonumber(window_ms), tonumber(threshold)
  local member_key = prefix .. ':case-incident:' .. case
  local function incident_key(id) return prefix .. ':incident:' .. id end
  local function answer(id, role)
    local f = redis.call('HMGET', incident_key(id), 'queue', 'severity', 'opened_with')
    return {role, id, f[1], f[2], f[3] or ''}
  end

  -- a redelivered case: the same answer as the first time
  local known = redis.call('GET', member_key)
  if known then
    local lead = redis.call('HGET', incident_key(known), 'lead_case')
    return answer(known, lead == case and 'opened' or 'joined')
  end

  -- an open incident here takes in cases up to W after its latest one
  local open_key = prefix .. ':incident-open:' .. where
  local open = redis.call('GET', open_key)
  if open then
    local inc = incident_key(open)
    local f = redis.call('HMGET', inc, 'status', 'last_at_ms')
    if f[1] == 'open' and at <= tonumber(f[2]) + window then
      redis.call('SADD', inc .. ':cases', case)
      if at > tonumber(f[2]) then redis.call('HSET', inc, 'last_at_ms', num(at)) end
      redis.call('SET', member_key, open, 'PX', retention)
      return answer(open, 'joined')
    end
    redis.call('DEL', open_key)
  end

  -- count this case and its peers of the last W minutes
  local window_key = prefix .. ':incident-window:' .. where
  redis.call('ZADD', window_key, 'NX', num(at), case)
  redis.call('ZREMRANGEBYSCORE', window_key, '-inf', '(' .. num(at - 2 * window))
  redis.call('PEXPIRE', window_key, num(2 * window))
  -- events arrive out of order (partitions, retries): find the fullest W-long window
  -- that contains this case, among the cases up to W before and after it
  local near = redis.call('ZRANGEBYSCORE', window_key, num(at - window), num(at + window),
                          'WITHSCORES')
  local times = {}
  for i = 2, #near, 2 do table.insert(times, tonumber(near[i])) end
  local recent, last = 0, 1
  for first = 1, #times do
    if times[first] > at then break end
    if last < first then last = first end
    while last + 1 <= #times and times[last + 1] <= times[first] + window do last = last + 1 end
    if times[last] >= at and last - first + 1 > recent then recent = last - first + 1 end
  end
  if recent < k then return {'none', '', '', '', tostring(recent)} end

  -- the K-th case: open the incident; it takes in every case within W of this one
  local id = proposed_id
  local inc = incident_key(id)
  local peers = {}
  for i = 1, #near, 2 do table.insert(peers, near[i]) end
  local others = {}
  for _, peer in ipairs(peers) do
    redis.call('SADD', inc .. ':cases', peer)
    redis.call('SET', prefix .. ':case-incident:' .. peer, id, 'PX', retention)
    if peer ~= case then table.insert(others, peer) end
  end
  redis.call('DEL', window_key)
  local opened_with = table.concat(others, ',')
  redis.call('HSET', inc, 'incident_id', id, 'category', category, 'area', area,
             'status', 'open', 'queue', queue, 'severity', severity, 'lead_case', case,
             'opened_with', opened_with, 'opened_ms', now_ms, 'last_at_ms', num(at))
  redis.call('SET', open_key, id, 'PX', retention)
  redis.call('ZADD', prefix .. ':incidents:open', now_ms, id)
  return {'opened', id, queue, severity, opened_with}
end
