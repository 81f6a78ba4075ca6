-- Reads the stored state of many customers in one command (the batch's cache misses).
-- KEYS: the customers' hashes. ARGV: the state's fields stored beside its document.
-- Returns, per key, {doc, then each ARGV field} (false where absent).
local found = {}
for i, key in ipairs(KEYS) do
  found[i] = redis.call('HMGET', key, 'doc', unpack(ARGV))
end
return found
