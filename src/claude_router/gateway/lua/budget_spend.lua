-- Add a kept record's cost to every seeded spent counter it counts against.
-- KEYS: spent counters (unseeded ones are skipped: their seed, read from the ledger, will
-- include the record).  ARGV: nano-dollars.
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[1]) end
end
return 0
