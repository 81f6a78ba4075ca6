-- Writes one batch of the worker atomically, unless another worker has fenced it out.
--
-- KEYS: every key the batch touches. ARGV is a flat program, read front to back:
--   n_fences,  then n times: key_index, expected_token, partition
--   n_flat,    then n times: field, its text when the state leaves it out (at its default)
--   n_customers, then n times: key_index, doc, n_pairs, field, value, ... (n_pairs pairs)
--     (the customer's hash: its state document, the flat read-model fields projected
--     from that document here, in Redis, rather than formatted and sent by the worker;
--     and the other fields given)
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

local flat = {}
for _ = 1, tonumber(take()) do
  flat[#flat + 1] = {take(), take()}
end

-- The read model's text of a state value: times are already RFC 3339 strings in the
-- document, flags are "1"/"0", absent values take the field's default text.
local function flat_text(value, absent)
  if value == nil or value == cjson.null then
    return absent
  elseif value == true then
    return '1'
  elseif value == false then
    return '0'
  end
  return tostring(value)
end

for _ = 1, tonumber(take()) do
  local key, doc, pairs_ = KEYS[tonumber(take())], take(), tonumber(take())
  local state = cjson.decode(doc)
  local fields = {'doc', doc}
  for _, field in ipairs(flat) do
    fields[#fields + 1] = field[1]
    fields[#fields + 1] = flat_text(state[field[1]], field[2])
  end
  for _ = 1, 2 * pairs_ do
    fields[#fields + 1] = take()
  end
  redis.call('HSET', key, unpack(fields))
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
