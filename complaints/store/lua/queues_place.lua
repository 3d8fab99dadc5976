-- Place a batch of cases: enqueues and holds, in order (WorkQueues.place_in).
-- Loaded after: num.lua, queues_prelude.lua, queues_place_fns.lua.
-- KEYS: none. ARGV: prefix, then the ops in order, each as its name, how many arguments
-- follow, and those: enqueue case, queue, score, member, enqueued_ms, item, decision,
-- state, ttl, incident | hold incident_id, incident_queue, ttl, case...
-- Returns JSON [{added, earlier decision} | number held, ...], one answer per op.
-- Must hold: each op does exactly what `enqueue` / `hold` alone would, in the ops' order.
local out, i = {}, 2
while i <= #ARGV do
  local count = tonumber(ARGV[i + 1])
  if ARGV[i] == 'enqueue' then
    out[#out + 1] = enqueue(unpack(ARGV, i + 2, i + 11))
  else
    out[#out + 1] = hold(ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV, i + 5, i + 1 + count)
  end
  i = i + 2 + count
end
return cjson.encode(out)
