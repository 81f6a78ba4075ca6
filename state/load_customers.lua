-- Reads the stored state of many customers in one command (the batch's cache misses).
-- KEYS: the customers' hashes. Returns, per key, {doc, history} (false where absent).
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('HMGET', key, 'doc', 'history')
end
return found
