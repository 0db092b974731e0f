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
// A record is a hash: v = the sealed record, a = its absolute expiry (Unix ms), and,
// when it is indexed, i = the names of its index sets (space-separated "sid:<HMAC>" and
// "sub:<HMAC>", see indexName) and c = its index coverage (Unix ms): the time until which
// every one of those sets is known to hold it. A record never outlives its coverage (its
// TTL is capped at c - now), so an index member whose score (= its coverage) has passed
// names a record that is gone, and can be pruned. Records written before coverage existed
// have neither field and are not capped (the old index sets cover them).
var (
	// getScript: ARGV = now, idle timeout, max sealed size, cover threshold. Returns the
	// sealed value, nil when absent or past its absolute expiry or coverage (then
	// deleted), or -1 when it is larger than the limit (so an oversized value is never
	// sent over the wire). Otherwise slides the TTL to min(idle, absolute - now,
	// coverage - now); when the coverage ends within the threshold (and before the
	// absolute expiry) it returns {value, index names, absolute expiry} so that the
	// caller extends it.
	getScript = redis.NewScript(`
local n = redis.call('HSTRLEN', KEYS[1], 'v')
if n == 0 then return false end
if n > tonumber(ARGV[3]) then return -1 end
local r = redis.call('HMGET', KEYS[1], 'v', 'a', 'c', 'i')
local now = tonumber(ARGV[1])
local abs = tonumber(r[2])
local c = tonumber(r[3])
if (not r[1]) or (not abs) or abs <= now or (c and c <= now) then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = abs - now
local idle = tonumber(ARGV[2])
if idle < ttl then ttl = idle end
if c and c - now < ttl then ttl = c - now end
redis.call('PEXPIRE', KEYS[1], ttl)
if c and r[4] and c < abs and c - now < tonumber(ARGV[4]) then return {r[1], r[4], r[2]} end
return r[1]
`)

	// peekScript: ARGV = now, max sealed size. getScript without the slide: {value,
	// PTTL in ms} when live, nil when absent or past its absolute expiry or coverage
	// (left for getScript or Redis to delete: a peek writes nothing), or -1 when the value
	// is larger than the limit.
	peekScript = redis.NewScript(`
local n = redis.call('HSTRLEN', KEYS[1], 'v')
if n == 0 then return false end
if n > tonumber(ARGV[2]) then return -1 end
local r = redis.call('HMGET', KEYS[1], 'v', 'a', 'c')
local now = tonumber(ARGV[1])
local abs = tonumber(r[2])
local c = tonumber(r[3])
if (not r[1]) or (not abs) or abs <= now or (c and c <= now) then return false end
return {r[1], redis.call('PTTL', KEYS[1])}
`)

	// touchScript: ARGV = now, idle timeout, cover threshold. getScript without the
	// value: 1 when the record is live (its TTL slid as Get slides it), 0 when gone (an
	// expired one is deleted), or {index names, absolute expiry} when it is live and its
	// coverage must be extended.
	touchScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'a', 'c', 'i')
local abs = tonumber(r[1])
local c = tonumber(r[2])
local now = tonumber(ARGV[1])
if (not abs) or abs <= now or (c and c <= now) then
  redis.call('DEL', KEYS[1])
  return 0
end
local ttl = abs - now
local idle = tonumber(ARGV[2])
if idle < ttl then ttl = idle end
if c and c - now < ttl then ttl = c - now end
redis.call('PEXPIRE', KEYS[1], ttl)
if c and r[3] and c < abs and c - now < tonumber(ARGV[3]) then return {r[3], r[1]} end
return 1
`)

	// saveScript: ARGV = sealed value, absolute expiry, TTL, coverage, index names, now.
	// Writes the fields and the TTL atomically (a record never exists without a TTL).
	// The index names are merged with those already stored under the key (a re-save after
	// a key rotation is indexed under both keys' names, and Delete must clean both).
	saveScript = redis.NewScript(writeRecordLua + `
redis.call('DEL', KEYS[1])
writeRecord(ARGV[4], old)
return 1
`)

	// updateScript: saveScript for a record that must still exist: 0, and nothing
	// written, when it does not (ended by a logout or expiry meanwhile); else 1. It keeps
	// the stored coverage (only extendCoverage raises it, once the index sets hold the
	// new one), capping the TTL to it.
	updateScript = redis.NewScript(writeRecordLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local c = tonumber(redis.call('HGET', KEYS[1], 'c')) or tonumber(ARGV[4])
redis.call('DEL', KEYS[1])
writeRecord(c, old)
return 1
`)

	// deleteScript: deletes the record and returns its index names ('' when it has
	// none), or 0 when there was no record (not nil: a pipeline would report it as an
	// error).
	deleteScript = redis.NewScript(`
local i = redis.call('HGET', KEYS[1], 'i')
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
return i or ''
`)

	// coverScript: ARGV = coverage, now, idle timeout. Raises the record's coverage to
	// ARGV[1] (never lowers it) and then slides its TTL to min(idle, absolute - now,
	// coverage - now): the Get or Touch that asked for the extension capped the TTL at
	// the OLD coverage, and without this the record would end there, well within its
	// idle timeout. Returns 1, or 0 when the record is gone.
	coverScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local r = redis.call('HMGET', KEYS[1], 'c', 'a')
local c = tonumber(r[1])
local want = tonumber(ARGV[1])
if (not c) or c < want then
  redis.call('HSET', KEYS[1], 'c', ARGV[1])
  local now = tonumber(ARGV[2])
  local ttl = tonumber(ARGV[3])
  local abs = tonumber(r[2])
  if abs and abs - now < ttl then ttl = abs - now end
  if want - now < ttl then ttl = want - now end
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`)

	// indexScript: ARGV = member (an id hash), score (its coverage), now. On a sorted
	// index set: prunes the members whose coverage has passed (their records are gone),
	// adds the member or raises its score (never lowers it), and sets the set's TTL to
	// its highest score, so the set ends with the last of its records.
	indexScript = redis.NewScript(`
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local old = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if (not old) or old < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then
  local ttl = tonumber(top[2]) - now
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`)

	// legacyIndexScript: ARGV = member (an id hash), TTL. The previous release's index
	// write, kept unchanged for one release so that its replicas (a rolling update, a
	// rollback) still find new sessions: adds the member to the plain index set and
	// extends the set's TTL to at least TTL (never shortens it).
	legacyIndexScript = redis.NewScript(`
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

// writeRecordLua is the part saveScript and updateScript share: writeRecord(c, old)
// writes value, absolute expiry, coverage c and the index names (ARGV[5] merged with
// old, those stored before) and sets the TTL ARGV[3], capped at c - now (ARGV[6]).
const writeRecordLua = `
local old = redis.call('HGET', KEYS[1], 'i')
local function merged(new, old)
  if not old or old == '' then return new end
  local out = new
  for name in string.gmatch(old, '%S+') do
    if not string.find(' ' .. out .. ' ', ' ' .. name .. ' ', 1, true) then
      if out == '' then out = name else out = out .. ' ' .. name end
    end
  end
  return out
end
local function writeRecord(c, old)
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'a', ARGV[2])
  local names = merged(ARGV[5], old)
  if names ~= '' then redis.call('HSET', KEYS[1], 'i', names, 'c', c) end
  local ttl = tonumber(ARGV[3])
  if names ~= '' and tonumber(c) - tonumber(ARGV[6]) < ttl then ttl = tonumber(c) - tonumber(ARGV[6]) end
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', KEYS[1], ttl)
end
`

// hotScripts are the scripts of the request path: a proxied request's read, a session
// event stream's peek and the cache's write-behind touch.
var hotScripts = []*redis.Script{getScript, peekScript, touchScript}

// loadScripts makes sure the server's script cache holds hotScripts (on Cluster, every
// node's: go-redis sends SCRIPT EXISTS and SCRIPT LOAD to each shard): one SCRIPT EXISTS,
// and a SCRIPT LOAD of each missing one (a start, a Redis restart or failover, SCRIPT
// FLUSH). Best effort: runScript's EVAL fallback still covers a miss, so a failure (a
// Redis ACL without SCRIPT, an unreachable node) changes nothing and is not reported.
func (s *redisStore) loadScripts(ctx context.Context) {
	hashes := make([]string, len(hotScripts))
	for i, sc := range hotScripts {
		hashes[i] = sc.Hash()
	}
	have, err := s.client.ScriptExists(ctx, hashes...).Result()
	if err != nil || len(have) != len(hotScripts) {
		return
	}
	for i, ok := range have {
		if !ok {
			_ = hotScripts[i].Load(ctx, s.client).Err()
		}
	}
}

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
	_, err := runScriptsCmds(ctx, c, calls)
	return err
}

// runScriptsCmds is runScripts that also returns the calls' replies, in order. Only
// the calls that missed the script cache are sent again: on Cluster the others ran on
// a node that had the script, and their replies (a deleted record's index names) would
// not be the same the second time.
func runScriptsCmds(ctx context.Context, c redis.UniversalClient, calls []scriptCall) ([]redis.Cmder, error) {
	cmds, err := pipeScripts(ctx, c, calls, true)
	if err == nil || !anyNoScript(cmds) {
		return cmds, err
	}
	var retry []scriptCall
	var at []int
	for i, cmd := range cmds {
		if i < len(calls) && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry, at = append(retry, calls[i]), append(at, i)
		}
	}
	again, err := pipeScripts(ctx, c, retry, false)
	for j, i := range at {
		if j < len(again) {
			cmds[i] = again[j]
		}
	}
	for _, cmd := range cmds {
		if cerr := cmd.Err(); cerr != nil && err == nil {
			err = fmt.Errorf("pipeline: %w", cerr)
		}
	}
	return cmds, err
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
