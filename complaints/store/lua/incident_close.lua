-- Record a closed case in its incident (IncidentTracker.close_case).
-- KEYS: none. ARGV: prefix, case, now (ms), retention (s).
-- Returns {incident id, status after, '1' if this call closed it else '0'}, or false when
-- the case belongs to no incident.
-- Must hold: the incident closes with its last open case, exactly once ('1' for one call
-- only); a closed incident takes in no more cases, and its keys expire after the
-- retention.
local prefix, case = ARGV[1], ARGV[2]
local id = redis.call('GET', prefix .. ':case-incident:' .. case)
if not id then return false end
local inc = prefix .. ':incident:' .. id
redis.call('SADD', inc .. ':closed', case)
if redis.call('HGET', inc, 'status') ~= 'open' then return {id, 'closed', '0'} end
if #redis.call('SDIFF', inc .. ':cases', inc .. ':closed') > 0 then return {id, 'open', '0'} end
redis.call('HSET', inc, 'status', 'closed', 'closed_ms', ARGV[3])
redis.call('ZREM', prefix .. ':incidents:open', id)
local f = redis.call('HMGET', inc, 'category', 'area')
local open_key = prefix .. ':incident-open:' .. f[1] .. ':' .. f[2]
if redis.call('GET', open_key) == id then redis.call('DEL', open_key) end
for _, key in ipairs({inc, inc .. ':cases', inc .. ':closed'}) do
  redis.call('EXPIRE', key, ARGV[4])
end
return {id, 'closed', '1'}
