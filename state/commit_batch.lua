-- Writes one batch of the worker atomically, unless another worker has fenced it out.
--
-- KEYS: every key the batch touches. ARGV is a flat program, read front to back:
--   n_fences,  then n times: key_index, expected_token, partition
--   n_hashes,  then n times: key_index, n_pairs, field, value, ... (n_pairs pairs)
--   n_members, then n times: op (sadd|srem|zrem|zadd), key_index, [score if zadd,] member
--   n_entries, then n times: ids_key_index, stream_key_index, cap, id, at, payload
--     (a notice into a rep's inbox, an alert into the recent alerts: each id enters its
--     capped stream once, as it is remembered in a sorted set of ten times the cap)
-- Returns the partitions whose token is stale (nothing was written), or an empty list.
local i = 1
local function take()
  local v = ARGV[i]
  i = i + 1
  return v
end

local stale = {}
for _ = 1, tonumber(take()) do
  local key, token, partition = KEYS[tonumber(take())], take(), take()
  if redis.call('GET', key) ~= token then
    stale[#stale + 1] = partition
  end
end
if #stale > 0 then
  return stale
end

for _ = 1, tonumber(take()) do
  local key, pairs_ = KEYS[tonumber(take())], tonumber(take())
  redis.call('HSET', key, unpack(ARGV, i, i + 2 * pairs_ - 1))
  i = i + 2 * pairs_
end

for _ = 1, tonumber(take()) do
  local op, key = take(), KEYS[tonumber(take())]
  if op == 'zadd' then
    local score = take()
    redis.call('ZADD', key, score, take())
  else
    redis.call(op, key, take())
  end
end

for _ = 1, tonumber(take()) do
  local ids, stream, cap = KEYS[tonumber(take())], KEYS[tonumber(take())], tonumber(take())
  local entry_id, at, payload = take(), take(), take()
  if redis.call('ZADD', ids, 'NX', at, entry_id) == 1 then
    redis.call('XADD', stream, 'MAXLEN', '~', cap, '*', 'id', entry_id, 'payload', payload)
    redis.call('ZREMRANGEBYRANK', ids, 0, -(cap * 10) - 1)
  end
end
return stale
