-- Enqueue jobs that are not known yet; a known id is left alone. Returns the accepted ids.
-- KEYS[4] the batch's job set, KEYS[5..] the job hashes
-- ARGV[8] batch id, then per job: ARGV id, position, spec (JSON)
local batch = ARGV[8]
local accepted = {}
for i = 5, #KEYS do
  local a = 9 + (i - 5) * 3
  local jid, position, spec = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local entry = redis.call('XADD', stream, '*', 'id', jid)
    redis.call('HSET', KEYS[i], 'spec', spec, 'batch', batch, 'pos', position,
      'status', 'queued', 'attempts', 0, 'entry', entry)
    redis.call('ZADD', KEYS[4], position, jid)
    accepted[#accepted + 1] = jid
  end
end
if #accepted > 0 then  -- (a finished batch that grows is pending again: it no longer expires)
  local batch_counts = batch_prefix .. batch .. counts_suffix
  redis.call('HINCRBY', queue_counts, 'queued', #accepted)
  redis.call('HINCRBY', batch_counts, 'queued', #accepted)
  redis.call('PERSIST', KEYS[4])
  redis.call('PERSIST', batch_counts)
end
return accepted
