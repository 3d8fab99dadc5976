-- Remember events as accepted (SeenEvents.remember_in).
-- KEYS: none (the seen keys travel in ARGV, one script call for a whole batch).
-- ARGV[1]: ttl in seconds; ARGV[2]: JSON [[seen key, "case-id content-hash"], ...].
-- Returns 0.
-- Must hold: only called once the events' complaints are published; SET overwrites, so
-- a batch sent again after a lost reply leaves the same values.
for _, pair in ipairs(cjson.decode(ARGV[2])) do
  redis.call('SET', pair[1], pair[2], 'EX', ARGV[1])
end
return 0
