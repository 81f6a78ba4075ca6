-- Writes one batch of the worker atomically, unless another worker has fenced it out.
--
-- KEYS: every key the batch touches. ARGV is a flat program, read front to back:
--   n_fences,  then n times: key_index, expected_token, partition
--   n_flat,    then n times: field, its text when the state leaves it out (at its default)
--   today (the batch's day since the epoch), then the activity layout
--     (state/read_model.py activity_layout; only when there are customers)
--   n_customers, then n times: key_index, doc, recency_days, n_pairs, field, value, ...
--     (the customer's hash: its state document, the flat read-model fields and the
--     activity JSON derived from that document here, in Redis, rather than computed and
--     sent by the worker; and the other fields given)
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

-- The activity JSON: window sums of the day tallies, RFM, lifetime totals and times.
local today, spans, columns, totals, counted, times, rfm
if #flat > 0 then
  today, spans, columns, totals, times = tonumber(take()), {}, {}, {}, {}
  for _ = 1, tonumber(take()) do
    spans[#spans + 1] = tonumber(take())
  end
  for _ = 1, tonumber(take()) do
    columns[#columns + 1] = {name = take(), at = tonumber(take()), decimals = tonumber(take())}
  end
  for _ = 1, tonumber(take()) do
    totals[#totals + 1] = {name = take(), decimals = tonumber(take())}
  end
  counted = take()
  for _ = 1, tonumber(take()) do
    times[#times + 1] = take()
  end
  rfm = {frequency = take(), orders = take(), monetary = take(), paid = take(),
         refunded = take()}
end

local function rounded(value, decimals)
  if decimals == 0 then
    return value
  end
  local scale = 10 ^ decimals
  return math.floor(value * scale + 0.5) / scale
end

local function present(value)
  return value ~= nil and value ~= cjson.null
end

local function activity(state, recency)
  local longest, sums = spans[#spans], {}
  for s = 1, #spans do
    sums[s] = {}
    for c = 1, #columns do
      sums[s][c] = 0
    end
  end
  if present(state.days) then
    for day, tally in pairs(state.days) do
      local age = today - tonumber(day)
      if age >= 0 and age < longest then
        for s = 1, #spans do
          if age < spans[s] then
            local sum = sums[s]
            for c = 1, #columns do
              sum[c] = sum[c] + tally[columns[c].at]
            end
          end
        end
      end
    end
  end
  local out = {recency_days = recency}
  for s = 1, #spans do
    for c = 1, #columns do
      local column = columns[c]
      out[column.name .. '_' .. spans[s] .. 'd'] = rounded(sums[s][c], column.decimals)
    end
  end
  out[rfm.frequency] = out[rfm.orders]
  out[rfm.monetary] = rounded(out[rfm.paid] - out[rfm.refunded], 2)
  for _, total in ipairs(totals) do
    out[total.name] = present(state[total.name]) and rounded(state[total.name], total.decimals) or 0
  end
  out[counted] = present(state[counted]) and #state[counted] or 0
  for _, name in ipairs(times) do
    out[name] = present(state[name]) and state[name] or cjson.null
  end
  return cjson.encode(out)
end

for _ = 1, tonumber(take()) do
  local key, doc, recency = KEYS[tonumber(take())], take(), tonumber(take())
  local pairs_ = tonumber(take())
  local state = cjson.decode(doc)
  local fields = {'doc', doc, 'activity', activity(state, recency)}
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
