-- Reserves a slot for a claim, atomically across every worker: the limits that span
-- customers (how many a rep holds, in all pools and in this one; claims per pool per day).
--
-- KEYS[1] the rep's customers (set)          KEYS[2] the rep's customers in the pool (set)
-- KEYS[3] the rep's pending claims (zset)    KEYS[4] the rep's claims in the pool today (set)
-- ARGV: command_id, customer_id, now (s), max_total, max_in_pool, max_per_day (-1 = none)
-- Returns "" when granted (again, for a replayed command), else the refusal.
local command, customer, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local max_total, max_pool, max_day = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('SISMEMBER', KEYS[4], command) == 1 then
  return ''
end
-- a reservation whose batch never committed (a crash) stops counting after a minute
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60)
local pending = redis.call('ZCARD', KEYS[3])
local held = redis.call('SCARD', KEYS[1]) + pending
if max_total >= 0 and held >= max_total then
  return 'limit reached: holds ' .. held .. ' customers (at most ' .. max_total .. ')'
end
local in_pool = redis.call('SCARD', KEYS[2]) + pending
if max_pool >= 0 and in_pool >= max_pool then
  return 'limit reached: holds ' .. in_pool .. ' customers of this pool (at most ' .. max_pool .. ')'
end
local today = redis.call('SCARD', KEYS[4])
if max_day >= 0 and today >= max_day then
  return 'limit reached: ' .. today .. ' claims today from this pool (at most ' .. max_day .. ')'
end
redis.call('SADD', KEYS[4], command)
redis.call('EXPIRE', KEYS[4], 172800)
redis.call('ZADD', KEYS[3], now, customer)
return ''
