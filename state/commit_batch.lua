-- Writes one batch of the worker atomically, unless another worker has fenced it out.
--
-- KEYS: every key the batch touches. ARGV is a flat program, read front to back:
--   n_fences,  then n times: key_index, expected_token, partition
--   n_hashes,  then n times: key_index, n_pairs, field, value, ... (n_pairs pairs)
--   n_members, then n times: op (sadd|srem|zrem|zadd), key_index, [score if zadd,] member
--   n_notices, then n times: ids_key_index, stream_key_index, notice_id, at, payload
--     (a notice enters a rep's inbox stream once: its id is remembered in a sorted set)
-- Returns the partitions whose token is stale (nothing was written), or an empty list.
local INBOX_LENGTH = 1000
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
  local ids, stream = KEYS[tonumber(take())], KEYS[tonumber(take())]
  local notice_id, at, payload = take(), take(), take()
  if redis.call('ZADD', ids, 'NX', at, notice_id) == 1 then
    redis.call('XADD', stream, 'MAXLEN', '~', INBOX_LENGTH, '*', 'notice_id', notice_id,
               'notice', payload)
    redis.call('ZREMRANGEBYRANK', ids, 0, -(INBOX_LENGTH * 10) - 1)
  end
end
return stale
