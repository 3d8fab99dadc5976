-- Give a claimed case back to its queue, in its old place (WorkQueues.release).
-- Loaded after: num.lua, queues_prelude.lua.
-- KEYS: none. ARGV: prefix, case, handler.
-- Returns 'ok', or why not: not_found | not_leased:<state> | expired:<handler> |
-- held_by:<handler>.
-- Must hold: only the handler of a live lease releases it.
local item, why = live_lease(ARGV[2], ARGV[3], now_ms())
if not item then return why end
put_back(ARGV[2], item)
return 'ok'
