-- Lease the cases whose SLA timer is due (CaseStore.claim_due_timers).
-- KEYS[1]: the timers sorted set (case id -> due ms).
-- ARGV[1]: now (ms); ARGV[2]: lease (ms); ARGV[3]: at most this many cases.
-- Returns the case ids now leased to the caller.
-- Must hold: a claimed timer moves to now + lease, so no other worker claims it meanwhile,
-- and fires again elsewhere if this worker dies before recording it in the case.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, case in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), case)
end
return due
