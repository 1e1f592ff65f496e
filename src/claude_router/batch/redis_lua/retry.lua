-- Put a batch's failed and parked jobs back at the end of the stream, as new: no attempts, no
-- result, no Message Batch to resume (`batch retry`). Their last error stays, for the record.
-- Returns how many were re-queued.
-- KEYS[4] the batch's job set; ARGV[8] batch id, ARGV[9..10] the Message Batch fields of a job hash
local batch, requeued = ARGV[8], 0
for _, jid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  local jkey = job_prefix .. jid
  local status = redis.call('HGET', jkey, 'status')
  if status == 'failed' or status == 'parked' then
    local entry = redis.call('XADD', stream, '*', 'id', jid)
    redis.call('HSET', jkey, 'status', 'queued', 'attempts', 0, 'entry', entry)
    redis.call('HDEL', jkey, 'result', ARGV[9], ARGV[10])
    redis.call('PERSIST', jkey)
    redis.call('ZREM', parked, jid)
    move(batch, status, 'queued')
    requeued = requeued + 1
  end
end
if requeued > 0 then  -- pending again: the batch no longer expires
  redis.call('PERSIST', KEYS[4])
  redis.call('PERSIST', batch_prefix .. batch .. counts_suffix)
end
return requeued
