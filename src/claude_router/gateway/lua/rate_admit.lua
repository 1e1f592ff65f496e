-- Token buckets, checked together and charged only if every one has room.
-- KEYS: one bucket hash per limit.  ARGV: ttl_ms, then (capacity, amount) per bucket.
-- Returns {0, 0} when admitted, else {index of the first full bucket, ms until it has room}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local levels = {}
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i])
  local amount = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'level', 'updated')
  local level = tonumber(state[1]) or capacity
  local updated = tonumber(state[2]) or now
  level = math.min(capacity, level + math.max(0, now - updated) * capacity / 60000)
  if amount > level then
    if amount > capacity then return {i, 60000} end
    return {i, math.ceil((amount - level) * 60000 / capacity)}
  end
  levels[i] = level - amount
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'level', tostring(levels[i]), 'updated', now)
  redis.call('PEXPIRE', key, ttl)
end
return {0, 0}
