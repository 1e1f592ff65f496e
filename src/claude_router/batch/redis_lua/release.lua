-- Put jobs the consumer holds back at the end of the stream at once, their claim not counted
-- as an attempt (a worker stopping). Returns how many were released.
-- KEYS[4..] the job hashes; ARGV[8] consumer
local consumer, released = ARGV[8], 0
for i = 4, #KEYS do
  local jkey = KEYS[i]
  local job = redis.call('HMGET', jkey, 'status', 'owner', 'batch', 'entry', 'attempts')
  if job[1] == 'leased' and job[2] == consumer then
    drop_entry(job[4])
    local fresh = redis.call('XADD', stream, '*', 'id', string.sub(jkey, #job_prefix + 1))
    redis.call('HSET', jkey, 'status', 'queued', 'entry', fresh)
    redis.call('HDEL', jkey, 'owner', 'lease_until')
    if (tonumber(job[5]) or 0) > 0 then
      redis.call('HINCRBY', jkey, 'attempts', -1)
    end
    move(job[3], 'leased', 'queued')
    released = released + 1
  end
end
return released
