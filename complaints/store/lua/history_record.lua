-- Record one case in its customer's history (CustomerHistory.record_case).
-- Loaded after: num.lua, history_record_fn.lua.
-- KEYS[1]: the customer's history. ARGV: case id, at (ms), window (ms).
-- Returns the number of OTHER cases within the window before the case.
return record(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
