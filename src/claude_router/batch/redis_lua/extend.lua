-- Renew a leased job's lease to `lease` from now. Returns 1, or 0 if it is not leased.
-- KEYS[4] the job hash; ARGV[8] lease (ms)
if redis.call('HGET', KEYS[4], 'status') ~= 'leased' then
  return 0
end
redis.call('HSET', KEYS[4], 'lease_until', now + tonumber(ARGV[8]))
return 1
