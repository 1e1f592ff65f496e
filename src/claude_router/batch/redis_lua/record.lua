-- Record the Message Batch of jobs the consumer holds (leased to it). Returns how many.
-- KEYS[4..] the job hashes; ARGV[8] consumer, ARGV[9] batch-id field, ARGV[10] request field,
-- then per job: ARGV Message Batch id, request (JSON)
local consumer, id_field, request_field = ARGV[8], ARGV[9], ARGV[10]
local recorded = 0
for i = 4, #KEYS do
  local a = 11 + (i - 4) * 2
  local job = redis.call('HMGET', KEYS[i], 'status', 'owner')
  if job[1] == 'leased' and job[2] == consumer then
    redis.call('HSET', KEYS[i], id_field, ARGV[a], request_field, ARGV[a + 1])
    recorded = recorded + 1
  end
end
return recorded
