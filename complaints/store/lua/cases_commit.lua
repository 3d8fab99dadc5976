-- Save a batch of case decisions and release their locks (CaseStore.commit).
-- KEYS: none (keys are built from the prefix).
-- ARGV: prefix, outcome ttl s, commit id, its ttl s, number of locks to release and their
-- (case id, token) pairs, number of cases, then per case: id, snapshot ('': keep), number of
-- events, the events, timer ms ('': none), number of outcomes, (action id, outcome)
-- pairs; then the number of stage counters and (name, increment) pairs.
-- Returns the number of cases.
-- Must hold: snapshot, events, timer, outcomes and counts are written together or not at
-- all, so no reader sees a snapshot that disagrees with its history. A commit id seen
-- before is a retry whose reply was lost: the commit was applied, so only the locks are
-- released (nothing is appended, set or counted twice). A lock is only released while
-- it is still ours (our token).
local p, ttl, locks = ARGV[1], ARGV[2], tonumber(ARGV[5])
local first_time = redis.call('SET', p .. ':commit:' .. ARGV[3], '1', 'NX', 'EX', ARGV[4])
local i = 6 + 2 * locks
local n = tonumber(ARGV[i])
i = i + 1
if first_time then
  for _ = 1, n do
    local id, snapshot, events = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    i = i + 3
    if events > 0 then
      redis.call('RPUSH', p .. ':case:' .. id .. ':events', unpack(ARGV, i, i + events - 1))
    end
    i = i + events
    if snapshot ~= '' then redis.call('SET', p .. ':case:' .. id, snapshot) end
    if ARGV[i] == '' then
      redis.call('ZREM', p .. ':case-timers', id)
    else
      redis.call('ZADD', p .. ':case-timers', ARGV[i], id)
    end
    local outcomes = tonumber(ARGV[i + 1])
    i = i + 2
    for _ = 1, outcomes do
      redis.call('SET', p .. ':action:' .. ARGV[i], ARGV[i + 1], 'EX', ttl)
      i = i + 2
    end
  end
  local counters = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, counters do
    redis.call('HINCRBY', p .. ':stats', ARGV[i], ARGV[i + 1])
    i = i + 2
  end
end
for j = 6, 5 + 2 * locks, 2 do
  local key = p .. ':case-lock:' .. ARGV[j]
  if redis.call('GET', key) == ARGV[j + 1] then redis.call('DEL', key) end
end
return n
