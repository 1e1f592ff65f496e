-- Store a job's result and mark it done, whatever it was (the work was done and paid for),
-- unless it is done already: the first result wins. Returns 1 if stored, else 0.
-- KEYS[4] the job hash; ARGV[8] job id, ARGV[9] result (JSON)
local jkey, jid = KEYS[4], ARGV[8]
local job = redis.call('HMGET', jkey, 'status', 'batch', 'entry')
if not job[1] or job[1] == 'done' then
  return 0
end
drop_entry(job[3])
if job[1] == 'parked' then
  redis.call('ZREM', parked, jid)
end
redis.call('HSET', jkey, 'status', 'done', 'result', ARGV[9])
move(job[2], job[1], 'done')
finish(jkey, job[2])
return 1
