-- Cancel a batch's queued and leased jobs. Returns how many were canceled.
-- KEYS[4] the batch's job set; ARGV[8] batch id
local batch, canceled = ARGV[8], 0
for _, jid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  local jkey = job_prefix .. jid
  local job = redis.call('HMGET', jkey, 'status', 'entry')
  if job[1] == 'queued' or job[1] == 'leased' then
    drop_entry(job[2])
    redis.call('HSET', jkey, 'status', 'canceled')
    move(batch, job[1], 'canceled')
    finish(jkey, batch)
    canceled = canceled + 1
  end
end
return canceled
