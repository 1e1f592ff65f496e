-- Add an amount to every seeded spent counter it counts against: a kept record's cost, or a
-- batch's worst case (negative once the batch stops holding).
-- KEYS: spent counters (unseeded ones are skipped: their seed, read from the ledger, will
-- include the amount).  ARGV: nano-dollars, signed.
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[1]) end
end
return 0
