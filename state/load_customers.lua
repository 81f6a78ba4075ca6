-- Reads the stored state of many customers in one command (the batch's cache misses).
-- KEYS: the customers' hashes, then each one's partition tombstone hash (the same order).
-- ARGV: n_apart, the state's fields stored beside its document, then each customer's
--   tombstone field (state/forget.py: a keyed hash of its id).
-- Returns, per customer, {doc, then each apart field, then its tombstone} (false where
-- absent; the tombstone is looked up only for a customer with no document).
local n = #KEYS / 2
local n_apart = tonumber(ARGV[1])
local apart = {unpack(ARGV, 2, 1 + n_apart)}
local found = {}
for i = 1, n do
  local row = redis.call('HMGET', KEYS[i], 'doc', unpack(apart))
  row[n_apart + 2] = (not row[1]) and redis.call('HGET', KEYS[n + i], ARGV[1 + n_apart + i])
  found[i] = row
end
return found
