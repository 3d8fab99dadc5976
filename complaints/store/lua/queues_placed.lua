-- Which cases are placed already, with their decision (WorkQueues.placed_in).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, JSON [case, ...].
-- Returns JSON [{1, decision} if the case is known else {0, ''}, ...].
-- Only a look: it changes nothing; `enqueue` itself decides.
local cases, out = cjson.decode(ARGV[2]), {}
for i, case in ipairs(cases) do
  local item = item_key(case)
  if redis.call('EXISTS', item) == 1 then
    out[i] = {1, redis.call('HGET', item, 'decision') or ''}
  else
    out[i] = {0, ''}
  end
end
return cjson.encode(out)
