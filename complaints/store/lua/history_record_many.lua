-- Record many cases, each in its customer's history (CustomerHistory.record_cases_in).
-- Loaded after: num.lua, history_record_fn.lua.
-- KEYS: one history per case, in the order of the cases.
-- ARGV[1]: window (ms); ARGV[2]: JSON [[case id, at (ms)], ...].
-- Returns JSON [count, ...]: `record` for each case, in order (so a later case of the
-- same customer sees the earlier ones).
local cases, out = cjson.decode(ARGV[2]), {}
for i, c in ipairs(cases) do out[i] = record(KEYS[i], c[1], c[2], ARGV[1]) end
return cjson.encode(out)
