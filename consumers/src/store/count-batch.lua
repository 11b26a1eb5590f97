-- Counts one batch atomically, each message id at most once.
-- KEYS[1..7]: country_counts, weather_counts, total_messages, recent_messages,
--             e2e_latency_ms, duplicates_total, dead_lettered_total
-- KEYS[8..]:  seen:<id>, one per message, in batch order
-- ARGV[1] dedup TTL (s), ARGV[2] recent list cap, ARGV[3] messages dead-lettered in this batch,
-- then 4 per message: country, weather, latency bucket field, envelope JSON.
-- Returns { counted, duplicates, flags } where flags holds "1" (counted) or "0" (duplicate) per message.
local ttl = ARGV[1]
local recentMax = tonumber(ARGV[2])
local deadLettered = tonumber(ARGV[3])
local FIRST = 8

local countries, weathers, buckets, recent, flags = {}, {}, {}, {}, {}
local counted, duplicates = 0, 0

for i = FIRST, #KEYS do
  local a = 4 + (i - FIRST) * 4
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ttl) then
    counted = counted + 1
    local country, weather, bucket = ARGV[a], ARGV[a + 1], ARGV[a + 2]
    countries[country] = (countries[country] or 0) + 1
    weathers[weather] = (weathers[weather] or 0) + 1
    buckets[bucket] = (buckets[bucket] or 0) + 1
    recent[#recent + 1] = ARGV[a + 3]
    flags[#flags + 1] = '1'
  else
    duplicates = duplicates + 1
    flags[#flags + 1] = '0'
  end
end

-- One HINCRBY per distinct value rather than per message.
for field, n in pairs(countries) do redis.call('HINCRBY', KEYS[1], field, n) end
for field, n in pairs(weathers) do redis.call('HINCRBY', KEYS[2], field, n) end
for field, n in pairs(buckets) do redis.call('HINCRBY', KEYS[5], field, n) end

if counted > 0 then
  redis.call('INCRBY', KEYS[3], counted)
  -- Only the newest recentMax survive the trim, so only those are pushed.
  -- LPUSH in batch order leaves the newest at the head.
  local from = math.max(1, #recent - recentMax + 1)
  redis.call('LPUSH', KEYS[4], unpack(recent, from, #recent))
  redis.call('LTRIM', KEYS[4], 0, recentMax - 1)
end
if duplicates > 0 then redis.call('INCRBY', KEYS[6], duplicates) end
if deadLettered > 0 then redis.call('INCRBY', KEYS[7], deadLettered) end

return { counted, duplicates, table.concat(flags) }
