//! The Lua scripts that make each step one atomic command on the server.

use redis::Script;

/// Stores a document if its revision is newer than the stored one (or it is the stored
/// document again), then tells the waiters. Returns `{stored?, revision}`.
pub(crate) const SAVE: &str = r"
local stored = redis.call('HGET', KEYS[1], 'revision')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then
  if redis.call('HGET', KEYS[1], 'document') == ARGV[2] then return {1, stored} end
  return {0, stored}
end
redis.call('HSET', KEYS[1], 'revision', ARGV[1], 'document', ARGV[2])
redis.call('PUBLISH', ARGV[3], 'saved')
return {1, ARGV[1]}
";

/// Extends the lease to at least `ARGV[2]` ms if this owner still holds it (never shortens a
/// lease that [`CONFIRM`] lengthened).
pub(crate) const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  return 1
end
return 0
";

/// Before a refresh token is spent (and again just before it is sent): the lease must be this
/// owner's (else 0), no other owner's request may be in flight (else -1), and fewer than
/// `ARGV[4]` requests may have been confirmed in the last `ARGV[5]` ms (else -2), all on the
/// server's clock. Counts this owner's request once, marks it in flight for `ARGV[3]` ms, and
/// lengthens the lease to at least `ARGV[2]` ms.
pub(crate) const CONFIRM: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local flying = redis.call('GET', KEYS[2])
if flying and flying ~= ARGV[1] then return -1 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then return -2 end
  redis.call('ZADD', KEYS[3], now, ARGV[1])
end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
";

/// Releases the lease if this owner still holds it, and tells the waiters. This owner's
/// in-flight mark goes too (its request is over), whether or not the lease was still held.
pub(crate) const RELEASE: &str = r"
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
";

/// Forgets the document, and tells the waiters.
pub(crate) const CLEAR: &str = r"
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'cleared')
return 1
";

/// The scripts, hashed once per store (`EVALSHA`, loaded on a miss).
pub(crate) struct Scripts {
    pub(crate) save: Script,
    pub(crate) renew: Script,
    pub(crate) confirm: Script,
    pub(crate) release: Script,
    pub(crate) clear: Script,
}

impl Scripts {
    pub(crate) fn new() -> Scripts {
        Scripts {
            save: Script::new(SAVE),
            renew: Script::new(RENEW),
            confirm: Script::new(CONFIRM),
            release: Script::new(RELEASE),
            clear: Script::new(CLEAR),
        }
    }
}
