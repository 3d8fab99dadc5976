-- Count many cases towards incidents (IncidentTracker.observe_many_in).
-- Loaded after: num.lua, incident_observe_fn.lua.
-- KEYS: none. ARGV[1]: JSON [[the arguments of `observe`], ...].
-- Returns JSON [answer, ...]: `observe` for each case, in order (so a later case sees the
-- incident an earlier one opened).
local cases, out = cjson.decode(ARGV[1]), {}
for i, c in ipairs(cases) do out[i] = observe(unpack(c)) end
return cjson.encode(out)
