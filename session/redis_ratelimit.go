package session

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeTokenScript is GCRA (the generic cell rate algorithm; a token bucket kept as one
// number): KEYS[1] holds the bucket's theoretical arrival time (TAT, Unix µs). ARGV =
// now (µs), emission interval T (µs), tolerance tau = T × (burst − 1) (µs). A request is
// allowed when TAT − now ≤ tau; it then moves TAT to max(TAT, now) + T, and the key
// lives until that TAT (an expired key is a full bucket). Returns 0 when allowed, else
// the µs until the next request would be. One key: one round trip, Cluster-safe.
var takeTokenScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > tau then return tat - now - tau end
tat = tat + t
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return 0
`)

// TakeToken takes one request from the budget named by scope and client, shared by
// every replica on this store: at most burst at once, then one per every. It returns
// whether the request is allowed and, when not, how long until one would be. The key
// is an HMAC of scope and client under the newest session key, like the indexes: a dump
// of the store lists no client address. The clock is the store's (Options.Now).
func (s *redisStore) TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (bool, time.Duration, error) {
	if every <= 0 || burst < 1 {
		return false, 0, errors.New("session: take token: every must be > 0 and burst >= 1")
	}
	key := s.indexKey(&s.keys.keys[0], "rl", scope+"\x00"+client)
	t := every.Microseconds()
	t = max(t, 1)
	octx, cancel := s.op(ctx)
	defer cancel()
	wait, err := takeTokenScript.Run(octx, s.client, []string{key},
		s.now().UnixMicro(), t, t*int64(burst-1)).Int64()
	if err != nil {
		return false, 0, s.fail(ctx, "take token", err)
	}
	return wait == 0, time.Duration(wait) * time.Microsecond, nil
}
