#!lua
-- The shebang makes the server check the script's declared keys and refuse it as a whole, before
-- it runs, when the store is out of memory (maxmemory with noeviction): nothing half-written.
-- Counts one batch atomically, each message at most once.
--
-- KEYS[1..8]  country_counts, weather_counts, total_messages, recent_messages, e2e_latency_ms,
--             duplicates_total, dead_lettered_total, replays_total
-- KEYS[9]     replay guard: the unacknowledged ids (zset, RabbitMQ) or the topic's offsets (hash, Kafka)
-- KEYS[10..]  dedup buckets, the current one first, then the earlier ones still inside the window
--
-- ARGV[1] mode: "rabbitmq" or "kafka"        ARGV[2] expiry of the current bucket (s)
-- ARGV[3] recent list cap                    ARGV[4] messages dead-lettered in this batch
-- ARGV[5] now (ms)                           ARGV[6] RabbitMQ: unacknowledged ids older than this (ms) are dropped
-- ARGV[7] n: ids whose acknowledgement was confirmed since the last call (RabbitMQ), then those n ids
-- then 6 per message: id (16 bytes), country, weather, latency bucket, envelope JSON, and
--   RabbitMQ: "1" if the broker redelivered it | Kafka: "<partition>:<offset>"
--
-- A message is a replay (Kafka: at or below its partition's counted offset; RabbitMQ: redelivered
-- and still unacknowledged here) or a duplicate (its id in the dedup window: a client retry, a
-- re-publish), or it is counted. Returns { counted, duplicates, replays, flags }, "1"/"0" per message.
local kafka = ARGV[1] == 'kafka'
local bucketTtl = ARGV[2]
local recentMax = tonumber(ARGV[3])
local deadLettered = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local guard = KEYS[9]
local current = KEYS[10]

local settled = tonumber(ARGV[7])
if not kafka then
  if settled > 0 then redis.call('ZREM', guard, unpack(ARGV, 8, 7 + settled)) end
  redis.call('ZREMRANGEBYSCORE', guard, '-inf', string.format('(%.0f', now - tonumber(ARGV[6])))
end

local function inWindow(id)
  for k = 10, #KEYS do
    if redis.call('SISMEMBER', KEYS[k], id) == 1 then return true end
  end
  return false
end

local offsets = {} -- Kafka: partition -> highest offset counted (or seen) so far
local countries, weathers, buckets, recent, flags = {}, {}, {}, {}, {}
local counted, duplicates, replays = 0, 0, 0

for a = 8 + settled, #ARGV, 6 do
  local id, position = ARGV[a], ARGV[a + 5]
  local replay, duplicate = false, false
  if kafka then
    local colon = string.find(position, ':', 1, true)
    local partition, offset = string.sub(position, 1, colon - 1), tonumber(string.sub(position, colon + 1))
    local last = offsets[partition]
    if last == nil then last = tonumber(redis.call('HGET', guard, partition) or '-1') end
    replay = offset <= last
    if offset > last then offsets[partition] = offset else offsets[partition] = last end
  elseif position == '1' then
    replay = redis.call('ZSCORE', guard, id) ~= false
  end
  if not replay then duplicate = inWindow(id) end
  if replay then
    replays = replays + 1
    flags[#flags + 1] = '0'
  elseif duplicate then
    duplicates = duplicates + 1
    flags[#flags + 1] = '0'
  else
    redis.call('SADD', current, id)
    if not kafka then redis.call('ZADD', guard, string.format('%.0f', now), id) end
    counted = counted + 1
    local country, weather, bucket = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
    countries[country] = (countries[country] or 0) + 1
    weathers[weather] = (weathers[weather] or 0) + 1
    buckets[bucket] = (buckets[bucket] or 0) + 1
    recent[#recent + 1] = ARGV[a + 4]
    flags[#flags + 1] = '1'
  end
end

if kafka then
  for partition, offset in pairs(offsets) do redis.call('HSET', guard, partition, string.format('%.0f', offset)) end
end
-- One HINCRBY per distinct value rather than per message.
for field, n in pairs(countries) do redis.call('HINCRBY', KEYS[1], field, n) end
for field, n in pairs(weathers) do redis.call('HINCRBY', KEYS[2], field, n) end
for field, n in pairs(buckets) do redis.call('HINCRBY', KEYS[5], field, n) end

if counted > 0 then
  redis.call('EXPIRE', current, bucketTtl)
  redis.call('INCRBY', KEYS[3], counted)
  -- Only the newest recentMax survive the trim, so only those are pushed.
  -- LPUSH in batch order leaves the newest at the head.
  local from = math.max(1, #recent - recentMax + 1)
  redis.call('LPUSH', KEYS[4], unpack(recent, from, #recent))
  redis.call('LTRIM', KEYS[4], 0, recentMax - 1)
end
if duplicates > 0 then redis.call('INCRBY', KEYS[6], duplicates) end
if deadLettered > 0 then redis.call('INCRBY', KEYS[7], deadLettered) end
if replays > 0 then redis.call('INCRBY', KEYS[8], replays) end

return { counted, duplicates, replays, table.concat(flags) }
