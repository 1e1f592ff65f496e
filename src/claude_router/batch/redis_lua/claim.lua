-- Lease up to n jobs to a consumer: first entries idle beyond this lease whose lease really
-- expired (XAUTOCLAIM, resuming where the last scan stopped), then new entries (XREADGROUP).
-- Returns per job: id, spec, attempts, last error, Message Batch id, its request ('' if none).
-- KEYS[4] the reclaim cursor; ARGV[8] consumer, ARGV[9] n, ARGV[10] lease (ms),
-- ARGV[11] the Message Batch id field, ARGV[12] its request field
local consumer, n, lease_ms = ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local id_field, request_field = ARGV[11], ARGV[12]
local out, taken = {}, 0

local function lease(jid, jkey)
  local attempts = redis.call('HINCRBY', jkey, 'attempts', 1)
  redis.call('HSET', jkey, 'status', 'leased', 'owner', consumer, 'lease_until', now + lease_ms)
  local job = redis.call('HMGET', jkey, 'spec', 'error', id_field, request_field)
  out[#out + 1] = jid
  out[#out + 1] = job[1]
  out[#out + 1] = attempts
  out[#out + 1] = job[2] or ''
  out[#out + 1] = job[3] or ''
  out[#out + 1] = job[4] or ''
  taken = taken + 1
end

local cursor = redis.call('GET', KEYS[4]) or '0-0'
local scan = redis.call('XAUTOCLAIM', stream, group, consumer, lease_ms, cursor, 'COUNT', n)
redis.call('SET', KEYS[4], scan[1])
for _, claimed in ipairs(scan[2]) do
  local job = take_expired(claimed)
  if job then
    lease(job.jid, job.jkey)
  end
end

if taken < n then
  local read = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', n - taken, 'STREAMS', stream, '>')
  if read then
    for _, item in ipairs(read[1][2]) do
      local entry, jid = item[1], item[2][2]
      local jkey = job_prefix .. jid
      local job = redis.call('HMGET', jkey, 'status', 'entry', 'batch')
      if job[1] == 'queued' and job[2] == entry then
        move(job[3], 'queued', 'leased')
        lease(jid, jkey)
      else  -- an entry whose job moved on (cannot happen through these scripts; be safe)
        drop_entry(entry)
      end
    end
  end
end
return out
