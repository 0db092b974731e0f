package session

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The store's Lua scripts. Each touches exactly ONE key (KEYS[1]), so each is
// hash-slot-safe on Redis Cluster; operations that span keys are pipelines of such
// scripts, which the cluster client splits by slot. Times are milliseconds; "now" is
// always passed by the client, so the injected clock governs absolute expiry.
//
// A record is a hash: v = the sealed record, a = its absolute expiry (Unix ms).
var (
	// getScript: ARGV = now, idle timeout, max sealed size. Returns the sealed value,
	// nil when absent or past its absolute expiry (then deleted), or -1 when it is
	// larger than the limit (so an oversized value is never sent over the wire).
	// Otherwise slides the TTL to min(idle, absolute - now).
	getScript = redis.NewScript(`
local n = redis.call('HSTRLEN', KEYS[1], 'v')
if n == 0 then return false end
if n > tonumber(ARGV[3]) then return -1 end
local r = redis.call('HMGET', KEYS[1], 'v', 'a')
local now = tonumber(ARGV[1])
local abs = tonumber(r[2])
if (not r[1]) or (not abs) or abs <= now then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = abs - now
local idle = tonumber(ARGV[2])
if idle < ttl then ttl = idle end
redis.call('PEXPIRE', KEYS[1], ttl)
return r[1]
`)

	// touchScript: ARGV = now, idle timeout. getScript without the value: 1 when the
	// record is live (its TTL slid to min(idle, absolute - now)), 0 when gone (an
	// expired one is deleted).
	touchScript = redis.NewScript(`
local abs = tonumber(redis.call('HGET', KEYS[1], 'a'))
local now = tonumber(ARGV[1])
if (not abs) or abs <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
local ttl = abs - now
local idle = tonumber(ARGV[2])
if idle < ttl then ttl = idle end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`)

	// saveScript: ARGV = sealed value, absolute expiry, TTL. Writes both fields and
	// the TTL atomically (a record never exists without a TTL).
	saveScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'a', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

	// updateScript: saveScript for a record that must still exist: 0, and nothing
	// written, when it does not (ended by a logout or expiry meanwhile); else 1.
	updateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'a', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

	// indexScript: ARGV = member (an id hash), TTL. Adds the member to the index set
	// and extends the set's TTL to at least TTL (never shortens it).
	indexScript = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
local want = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < want then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

	// renewScript: ARGV = token, lease. Compare-and-set: extends the lease only if
	// the lock still holds our token. Returns 1 on success, 0 when lost.
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

	// releaseScript: ARGV = token, channel. Compare-and-delete, then wakes waiters
	// (a channel is not a key: PUBLISH is allowed in a single-key script on Cluster).
	// Returns 1 on success, 0 when lost.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '1')
  return 1
end
return 0
`)
)

// scriptCall is one single-key script invocation.
type scriptCall struct {
	script *redis.Script
	key    string
	args   []any
}

// runScript runs one script with EVALSHA, falling back to EVAL when the server's
// script cache does not have it (first use, restart, failover, SCRIPT FLUSH).
func runScript(ctx context.Context, c redis.UniversalClient, call scriptCall) *redis.Cmd {
	return call.script.Run(ctx, c, []string{call.key}, call.args...)
}

// runScripts sends the calls in ONE pipeline (one round trip on a single node; one
// per node on Cluster) with EVALSHA; if any missed the script cache it sends them
// all again with EVAL. Every call MUST be idempotent for that replay to be safe.
func runScripts(ctx context.Context, c redis.UniversalClient, calls []scriptCall) error {
	cmds, err := pipeScripts(ctx, c, calls, true)
	if err != nil && anyNoScript(cmds) {
		_, err = pipeScripts(ctx, c, calls, false)
	}
	return err
}

func pipeScripts(ctx context.Context, c redis.UniversalClient, calls []scriptCall, sha bool) ([]redis.Cmder, error) {
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, call := range calls {
			keys := []string{call.key}
			if sha {
				call.script.EvalSha(ctx, p, keys, call.args...)
			} else {
				call.script.Eval(ctx, p, keys, call.args...)
			}
		}
		return nil
	})
	if err != nil {
		return cmds, fmt.Errorf("pipeline: %w", err)
	}
	return cmds, nil
}

func anyNoScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			return true
		}
	}
	return false
}
