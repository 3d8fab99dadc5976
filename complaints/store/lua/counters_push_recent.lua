-- List the newest case ids first, in a capped list (RecentCases.add_in).
-- KEYS[1]: the list.
-- ARGV[1]: how many to keep; then the case ids, oldest first.
-- Returns 0.
-- Must hold: each id is listed at most once (a listed id moves to the front), so a batch
-- sent again lists nothing twice.
for i = 2, #ARGV do
  redis.call('LREM', KEYS[1], 0, ARGV[i])
  redis.call('LPUSH', KEYS[1], ARGV[i])
end
redis.call('LTRIM', KEYS[1], 0, ARGV[1] - 1)
return 0
