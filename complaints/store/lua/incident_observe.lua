-- Count one case towards an incident (IncidentTracker.observe).
-- Loaded after: num.lua, incident_observe_fn.lua.
-- KEYS: none. ARGV: the arguments of `observe`, in its order.
-- Returns the answer of `observe`.
return observe(unpack(ARGV))
