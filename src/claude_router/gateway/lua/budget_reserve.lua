-- Hold an amount against several budgets at once, or against none.
-- KEYS: (spent, held, expires) per budget.  ARGV: reservation id, amount, hold ttl ms,
-- then the limit of each budget (all in nano-dollars).
-- Returns {0, 0, 0} when held; {-i, 0, 0} when budget i's spend is not seeded yet;
-- else {i, nano-dollars already spent or held, nano-dollars spent} for the first budget it would pass.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, amount, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #KEYS / 3
for i = 1, n do
  local spent_key, held_key, expires_key = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local spent = redis.call('GET', spent_key)
  if not spent then return {-i, 0, 0} end
  local lapsed = redis.call('ZRANGEBYSCORE', expires_key, '-inf', now)
  if #lapsed > 0 then
    redis.call('HDEL', held_key, unpack(lapsed))
    redis.call('ZREM', expires_key, unpack(lapsed))
  end
  local committed = tonumber(spent)
  for _, held in ipairs(redis.call('HVALS', held_key)) do committed = committed + tonumber(held) end
  if committed + amount > tonumber(ARGV[3 + i]) then return {i, committed, tonumber(spent)} end
end
for i = 1, n do
  redis.call('HSET', KEYS[3 * i - 1], id, ARGV[2])
  redis.call('ZADD', KEYS[3 * i], now + ttl, id)
  redis.call('PEXPIRE', KEYS[3 * i - 1], ttl)
  redis.call('PEXPIRE', KEYS[3 * i], ttl)
end
return {0, 0, 0}
