-- Put every job whose lease expired back at the end of the stream (or park it when out of
-- attempts). Scans the whole pending list. Returns how many jobs moved.
-- ARGV[8] the reclaiming consumer, ARGV[9] min idle (ms), ARGV[10] entries per scan step
local consumer, min_idle, step = ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
local moved, cursor = 0, '0-0'
repeat
  local scan = redis.call('XAUTOCLAIM', stream, group, consumer, min_idle, cursor, 'COUNT', step)
  cursor = scan[1]
  for _, claimed in ipairs(scan[2]) do
    local job, was_parked = take_expired(claimed)
    if job then
      requeue(job.jid, job.jkey, job.batch, job.entry, redis.call('HGET', job.jkey, 'error'))
      moved = moved + 1
    elseif was_parked then
      moved = moved + 1
    end
  end
until cursor == '0-0'
return moved
