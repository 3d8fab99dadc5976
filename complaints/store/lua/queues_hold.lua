-- Link cases to an incident; those waiting in its queue are held under it
-- (WorkQueues.hold_under_incident).
-- Loaded after: num.lua, queues_prelude.lua, queues_place_fns.lua.
-- KEYS: none. ARGV: prefix, incident_id, incident_queue, ttl_s, case...
-- Returns how many cases were held (left the queue).
return hold(ARGV[2], ARGV[3], ARGV[4], ARGV, 5, #ARGV)
