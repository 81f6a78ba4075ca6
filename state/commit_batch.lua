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
--   n_members, then n times: op (sadd|srem|zrem|zadd|hdel|del), key_index,
--     [score if zadd,] member (none for del)
--   n_entries, then n times: ids_key_index, stream_key_index, cap, id, at, payload
--     (a notice into a rep's inbox, an alert into the recent alerts: each id enters its
--     capped stream once, as it is remembered in a sorted set of ten times the cap)
--   n_scrubs,  then n times: stream_key_index, ids_key_index, needle, id_prefix
--     (a forgotten customer's entries leave a stream: those whose payload holds the
--     needle, and the ids that start with the prefix; state/forget.py)
--   n_tallies, then n times: key_index, ttl_s (0: keep), n_pairs, field, increment, ...
--     (the numbers the batch adds, analytics/tally.py: counted here, with the state and the
--     offsets, so a replay after a crash counts nothing twice)
--   n_publishes, then n times: channel, message (what the batch changed, for the console's
--     open pages; published after every write above, so a page that re-reads sees them)
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
-- Written as text here, each field's label made once per batch and the values joined once
-- per customer: measured ~8 us of Redis per customer less than cjson.encode of a table
-- (Redis' Lua interns every string it makes, so the fewer the better).
local today, spans, columns, totals, counted, times, rfm
local function label(name)
  return ',"' .. name .. '":'
end
local function where(key)  -- the span and column of a window's key, e.g. "orders_90d"
  for s, span in ipairs(spans) do
    for c, column in ipairs(columns) do
      if column.name .. '_' .. span .. 'd' == key then
        return {s, c}
      end
    end
  end
  error('no window ' .. key)
end
if #flat > 0 then
  today, spans, columns, totals, times = tonumber(take()), {}, {}, {}, {}
  for _ = 1, tonumber(take()) do
    spans[#spans + 1] = tonumber(take())
  end
  for _ = 1, tonumber(take()) do
    local name, at, decimals = take(), tonumber(take()), tonumber(take())
    columns[#columns + 1] = {name = name, at = at, scale = decimals > 0 and 10 ^ decimals,
                             labels = {}}
  end
  for s, span in ipairs(spans) do
    for _, column in ipairs(columns) do
      column.labels[s] = label(column.name .. '_' .. span .. 'd')
    end
  end
  for _ = 1, tonumber(take()) do
    local name, decimals = take(), tonumber(take())
    totals[#totals + 1] = {name = name, scale = decimals > 0 and 10 ^ decimals,
                           label = label(name)}
  end
  local name = take()
  counted = {name = name, label = label(name)}
  for _ = 1, tonumber(take()) do
    name = take()
    times[#times + 1] = {name = name, label = label(name)}
  end
  rfm = {frequency = label(take()), orders = where(take()), monetary = label(take()),
         paid = where(take()), refunded = where(take())}
end

-- Kept to ``scale`` (10^decimals; false for a count): the cents Python's round(x, 2)
-- keeps for sums of amounts in cents (halves round up here, to even there: sums of cents
-- never sit on a half).
local function rounded(value, scale)
  if not scale or value == 0 then
    return value
  end
  return math.floor(value * scale + 0.5) / scale
end

local function present(value)
  return value ~= nil and value ~= cjson.null
end

local sums = {}  -- per window span, the sum of each column: reused customer to customer

local function activity(state, recency)
  local n_spans, n_columns = #spans, #columns
  for s = 1, n_spans do
    local sum = sums[s] or {}
    sums[s] = sum
    for c = 1, n_columns do
      sum[c] = 0
    end
  end
  if present(state.days) then
    local longest = spans[n_spans]
    for day, tally in pairs(state.days) do
      local age = today - tonumber(day)
      if age >= 0 and age < longest then
        for s = 1, n_spans do
          if age < spans[s] then
            local sum = sums[s]
            for c = 1, n_columns do
              sum[c] = sum[c] + tally[columns[c].at]
            end
          end
        end
      end
    end
  end
  -- Labels and values alternate in ``parts``, joined once. Numbers as cjson writes them
  -- (Lua's tostring is the same "%.14g"); most sums are 0.
  local parts, n = {'{"recency_days":', tostring(recency)}, 2
  for s = 1, n_spans do
    local sum = sums[s]
    for c = 1, n_columns do
      local column = columns[c]
      local value = rounded(sum[c], column.scale)
      sum[c] = value
      parts[n + 1] = column.labels[s]
      parts[n + 2] = value == 0 and '0' or tostring(value)
      n = n + 2
    end
  end
  local function window(at)
    return sums[at[1]][at[2]]
  end
  local monetary = rounded(window(rfm.paid) - window(rfm.refunded), 100)  -- 2 decimals
  parts[n + 1], parts[n + 2] = rfm.frequency, tostring(window(rfm.orders))
  parts[n + 3], parts[n + 4] = rfm.monetary, tostring(monetary)
  n = n + 4
  for _, total in ipairs(totals) do
    local value = state[total.name]
    parts[n + 1] = total.label
    parts[n + 2] = present(value) and tostring(rounded(value, total.scale)) or '0'
    n = n + 2
  end
  local listed = state[counted.name]
  parts[n + 1], parts[n + 2] = counted.label, present(listed) and tostring(#listed) or '0'
  n = n + 2
  for _, time in ipairs(times) do
    local value = state[time.name]
    parts[n + 1] = time.label
    -- RFC 3339 text from the document: nothing in it needs escaping
    parts[n + 2] = present(value) and '"' .. value .. '"' or 'null'
    n = n + 2
  end
  parts[n + 1] = '}'
  return table.concat(parts)
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
  elseif op == 'del' then
    redis.call('DEL', key)
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

for _ = 1, tonumber(take()) do
  local stream, ids = KEYS[tonumber(take())], KEYS[tonumber(take())]
  local needle, prefix = take(), take()
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+')) do
    local fields = entry[2]
    for f = 1, #fields - 1, 2 do
      if fields[f] == 'payload' and string.find(fields[f + 1], needle, 1, true) then
        redis.call('XDEL', stream, entry[1])
      end
    end
  end
  for _, member in ipairs(redis.call('ZRANGE', ids, 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix then
      redis.call('ZREM', ids, member)
    end
  end
end
for _ = 1, tonumber(take()) do
  local key, ttl = KEYS[tonumber(take())], tonumber(take())
  for _ = 1, tonumber(take()) do
    redis.call('HINCRBY', key, take(), take())
  end
  if ttl > 0 then
    redis.call('EXPIRE', key, ttl)
  end
end
for _ = 1, tonumber(take()) do
  redis.call('PUBLISH', take(), take())
end
return stale
