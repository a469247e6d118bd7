"""The Lua side of `RedisLimiter`, and the map from the Redis clock to the local one.

Both scripts read the Redis server's own clock (``TIME``), so the clocks of the hosts
that share a budget do not matter. Times in Redis are integer microseconds.
"""

from __future__ import annotations

import math

__all__ = ["ACQUIRE_SCRIPT", "REPORT_SCRIPT", "ClockMap"]

# KEYS[1]: state hash (next, gate, cools, cfg); KEYS[2]: log of the last n reserved slots.
# ARGV: n, span, interval, lead, keep, cfg, horizon, hold (all µs but n and cfg).
# Returns {slot, now}, or {-1, now, cfg} when the key is paced with other settings.
ACQUIRE_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 'next', 'gate', 'cfg')
if st[3] and st[3] ~= ARGV[6] then return {-1, now, st[3]} end
local nxt = tonumber(st[1]) or 0
local gate = tonumber(st[2]) or 0
if nxt > now + tonumber(ARGV[7]) then
  -- Far beyond any queue: the server clock went back. Start afresh, do not wait for it.
  nxt = 0
  gate = 0
  redis.call('DEL', KEYS[2])
end
local hold = tonumber(ARGV[8])
if hold > 0 and now + hold > gate then
  -- Back from an outage: starts paced locally meanwhile are in no log. Hold everyone
  -- until every process has found Redis again and their last local start is a window old.
  gate = now + hold
  redis.call('HSET', KEYS[1], 'gate', string.format('%d', gate))
end
local slot = now + tonumber(ARGV[4])
if nxt > slot then slot = nxt end
if gate > slot then slot = gate end
if redis.call('LLEN', KEYS[2]) >= n then
  local nth = tonumber(redis.call('LINDEX', KEYS[2], -n))
  if nth + span > slot then slot = nth + span end
end
local fmt = '%d'
redis.call('RPUSH', KEYS[2], string.format(fmt, slot))
redis.call('LTRIM', KEYS[2], -n, -1)
redis.call('HSET', KEYS[1], 'next', string.format(fmt, slot + tonumber(ARGV[3])), 'cfg', ARGV[6])
local ttl = math.ceil((slot - now + tonumber(ARGV[5])) / 1000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('PEXPIRE', KEYS[2], ttl)
return {slot, now}
"""

# KEYS[1]: state hash. ARGV: base, cap, jitter (a factor in [1, 1.25]), max_n, keep.
# Returns {closed_now (1 or 0), gate, now}. The same doubling rule as LocalLimiter.
REPORT_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local base = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local st = redis.call('HMGET', KEYS[1], 'gate', 'cools')
local gate = tonumber(st[1]) or 0
local c = tonumber(st[2]) or 0
if now < gate then return {0, gate, now} end
if c > 0 and now - gate < 2 * base then
  c = math.min(c + 1, tonumber(ARGV[4]))
else
  c = 1
end
local delay = math.min(cap, base * 2 ^ (c - 1))
delay = math.floor(math.min(cap, delay * tonumber(ARGV[3])))
gate = now + delay
redis.call('HSET', KEYS[1], 'gate', string.format('%d', gate), 'cools', c)
local ttl = math.ceil((delay + tonumber(ARGV[5])) / 1000)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return {1, gate, now}
"""


class ClockMap:
    """Maps Redis server time onto the local monotonic clock (both in seconds).

    Each round trip that read ``TIME`` bounds the offset ``server - local``: the server
    read its clock between the local times ``t0`` and ``t1``. The intersection of the
    recent bounds (widened by the allowed drift as they age) is kept; its midpoint is the
    estimate and half its width the error bound. Bounds that do not overlap mean the
    server clock stepped (or Redis moved host): start again from the new sample.
    """

    #: Largest rate difference allowed between the two clocks (NTP slews at most 500 ppm).
    DRIFT = 5e-4

    __slots__ = ("_at", "_hi", "_lo", "srtt")

    def __init__(self) -> None:
        self._lo = -math.inf
        self._hi = math.inf
        self._at = 0.0
        #: Smoothed round-trip time (TCP's 1/8 rule), ``None`` before the first sample.
        self.srtt: float | None = None

    def add(self, server: float, t0: float, t1: float) -> None:
        """Record that the server read ``server`` while we waited from ``t0`` to ``t1``."""
        a, b = server - t1, server - t0
        if math.isfinite(self._lo):
            widen = self.DRIFT * max(0.0, t1 - self._at)
            lo, hi = max(self._lo - widen, a), min(self._hi + widen, b)
            if lo > hi:  # disagrees with everything before: the server clock stepped
                lo, hi = a, b
        else:
            lo, hi = a, b
        self._lo, self._hi, self._at = lo, hi, t1
        rtt = t1 - t0
        self.srtt = rtt if self.srtt is None else self.srtt + (rtt - self.srtt) / 8

    @property
    def synced(self) -> bool:
        return math.isfinite(self._lo)

    @property
    def error(self) -> float:
        """The bound on the estimate's error, in seconds (infinite before a sample)."""
        return (self._hi - self._lo) / 2

    def to_local(self, server: float) -> float:
        """The local time at which the server clock reads ``server``."""
        return server - (self._lo + self._hi) / 2
