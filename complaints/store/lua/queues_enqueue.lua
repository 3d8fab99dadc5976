-- Place one case (WorkQueues.enqueue).
-- Loaded after: num.lua, queues_prelude.lua, queues_place_fns.lua.
-- KEYS: none. ARGV: prefix, case, queue, score, member, enqueued_ms, item, decision,
-- state, ttl, incident.
-- Returns {1, ''} when added, {0, the decision stored first} when known already.
return enqueue(unpack(ARGV, 2, 11))
