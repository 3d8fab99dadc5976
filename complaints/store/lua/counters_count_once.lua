-- Add to the stage counters, once per addition id (StageCounters.add_in).
-- KEYS[1]: the stats hash; KEYS[2]: the addition's id key.
-- ARGV[1]: how long the id is remembered (s); then (counter name, increment) pairs.
-- Returns 1 when counted, 0 when this addition was counted before.
-- Must hold: the id outlives every retry of its batch, so a batch sent again after a
-- lost reply counts nothing twice.
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
