-- Record a failure of a leased job: back in the queue (retry, attempts left), parked (retry,
-- out of attempts) or failed. A job that is not leased is left alone. Returns its status, or
-- nil for an unknown job.
-- KEYS[4] the job hash; ARGV[8] job id, ARGV[9] error record (JSON), ARGV[10] retry ('1'/'0')
local jkey, jid, record, retry = KEYS[4], ARGV[8], ARGV[9], ARGV[10] == '1'
local job = redis.call('HMGET', jkey, 'status', 'batch', 'entry', 'attempts')
if not job[1] then
  return nil
end
if job[1] ~= 'leased' then
  return job[1]
end
if not retry then
  settle(jid, jkey, job[2], job[3], record, 'failed')
  return 'failed'
end
if tonumber(job[4]) >= max_attempts then
  settle(jid, jkey, job[2], job[3], record, 'parked')
  return 'parked'
end
requeue(jid, jkey, job[2], job[3], record)
return 'queued'
