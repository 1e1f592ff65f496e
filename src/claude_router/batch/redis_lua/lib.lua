-- Shared by every queue script: redis_queue.py prepends it. Every script gets
--   KEYS[1] the stream, KEYS[2] the queue's counts, KEYS[3] the parked set, then its own keys;
--   ARGV[1] group, ARGV[2] job key prefix, ARGV[3] batch key prefix, ARGV[4] counts key suffix,
--   ARGV[5] result TTL (s), ARGV[6] now (ms), ARGV[7] max attempts, then its own arguments.
-- Key names are built from the prefixes that redis_keys.py passes in; nothing is spelt here.
local stream, queue_counts, parked = KEYS[1], KEYS[2], KEYS[3]
local group, job_prefix, batch_prefix, counts_suffix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, now, max_attempts = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])

-- Move one job from one status to another in the queue's and its batch's counters.
local function move(batch, from, to)
  local batch_counts = batch_prefix .. batch .. counts_suffix
  redis.call('HINCRBY', queue_counts, from, -1)
  redis.call('HINCRBY', batch_counts, from, -1)
  redis.call('HINCRBY', queue_counts, to, 1)
  redis.call('HINCRBY', batch_counts, to, 1)
end

-- Acknowledge a job's stream entry for the group and delete it from the stream.
local function drop_entry(entry)
  if entry then
    redis.call('XACK', stream, group, entry)
    redis.call('XDEL', stream, entry)
  end
end

-- A job reached a final status: it expires after the TTL, and so does its batch once nothing
-- of the batch is pending any more.
local function finish(jkey, batch)
  redis.call('HDEL', jkey, 'owner', 'lease_until', 'entry')
  redis.call('EXPIRE', jkey, ttl)
  local batch_counts = batch_prefix .. batch .. counts_suffix
  local pending = redis.call('HMGET', batch_counts, 'queued', 'leased')
  if (tonumber(pending[1]) or 0) + (tonumber(pending[2]) or 0) <= 0 then
    redis.call('EXPIRE', batch_prefix .. batch, ttl)
    redis.call('EXPIRE', batch_counts, ttl)
  end
end

-- Put a job back at the end of the stream, as a new entry.
local function requeue(jid, jkey, batch, entry, record)
  drop_entry(entry)
  local fresh = redis.call('XADD', stream, '*', 'id', jid)
  redis.call('HSET', jkey, 'status', 'queued', 'entry', fresh, 'error', record)
  redis.call('HDEL', jkey, 'owner', 'lease_until')
  move(batch, 'leased', 'queued')
end

-- End a leased job with an error record: 'failed' for good, or 'parked' out of attempts.
local function settle(jid, jkey, batch, entry, record, to)
  drop_entry(entry)
  redis.call('HSET', jkey, 'status', to, 'error', record, 'result', record)
  if to == 'parked' then
    redis.call('ZADD', parked, now, jid)
  end
  move(batch, 'leased', to)
  finish(jkey, batch)
end

local function lease_expired(attempts)
  return cjson.encode({type = 'error', error = {type = 'lease_expired',
    message = 'the lease expired on attempt ' .. attempts .. ' (the worker stopped or stalled)'}})
end

-- An entry that XAUTOCLAIM just moved to a new consumer because it sat idle. When its job's
-- lease really ran out, return the job (key, batch, entry); otherwise settle the entry here:
-- drop it (the job is no longer leased), hand it back (its lease was extended), or park the
-- job (out of attempts; the second result is then true).
local function take_expired(claimed)
  local entry, jid = claimed[1], claimed[2][2]
  local jkey = job_prefix .. jid
  local job = redis.call('HMGET', jkey, 'status', 'entry', 'owner', 'lease_until', 'attempts', 'batch')
  if job[1] ~= 'leased' or job[2] ~= entry then
    drop_entry(entry)
    return nil, false
  end
  if (tonumber(job[4]) or 0) > now then
    redis.call('XCLAIM', stream, group, job[3], 0, entry, 'JUSTID')
    return nil, false
  end
  local record = lease_expired(job[5])
  if tonumber(job[5]) >= max_attempts then
    settle(jid, jkey, job[6], entry, record, 'parked')
    return nil, true
  end
  redis.call('HSET', jkey, 'error', record)
  return {jid = jid, jkey = jkey, batch = job[6], entry = entry}, false
end

