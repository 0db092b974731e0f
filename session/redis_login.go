package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxSealedLogin bounds a sealed pending login (PutLogin refuses larger ones). A pending
// login is an authorization request and a return path: a few KiB at most.
const MaxSealedLogin = 16 << 10

// putLoginScript: ARGV = binding hash, sealed value, TTL (ms). The pending login is a
// hash {b: SHA-256 of its binding, v: the sealed value}, written with its TTL atomically.
var putLoginScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'b', ARGV[1], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// takeLoginScript: ARGV = the hashes of the bindings the caller holds. It returns the
// sealed value and deletes the pending login in the same step when its binding is one of
// them; -1, leaving it in place, when it is bound to something else; nil when there is
// none (or it is not a pending login of this format, e.g. left by an older version).
var takeLoginScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return false end
local b = redis.call('HGET', KEYS[1], 'b')
for i = 1, #ARGV do
  if ARGV[i] == b then
    local v = redis.call('HGET', KEYS[1], 'v')
    redis.call('DEL', KEYS[1])
    return v
  end
end
return -1
`)

// maxLoginBindings bounds the bindings one TakeLogin may offer (a browser holds at most
// config's 20 pending logins).
const maxLoginBindings = 64

// loginKey names the pending login stored under key: a hash, never the key itself (the
// handler uses the OAuth state, which must not be readable from a dump).
func (s *redisStore) loginKey(key string) string { return s.prefix + "login:" + IDHash(key) }

// loginAAD binds a sealed pending login to its place: it cannot be moved under another
// key, nor be taken for a session record (whose additional data is the bare id hash).
func loginAAD(key string) []byte { return []byte("login:" + IDHash(key)) }

// PutLogin implements Store: one script writes the binding's hash and the value sealed
// under the newest key, with its TTL.
func (s *redisStore) PutLogin(ctx context.Context, key, binding string, value []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return errors.New("session: put login: ttl must be at least 1ms")
	}
	if binding == "" {
		return errors.New("session: put login: empty binding")
	}
	sealed, err := s.keys.seal(value, loginAAD(key))
	if err != nil {
		return fmt.Errorf("session: put login: %w", err)
	}
	if len(sealed) > MaxSealedLogin {
		return fmt.Errorf("session: put login: sealed value is %d bytes, more than %d", len(sealed), MaxSealedLogin)
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	call := scriptCall{putLoginScript, s.loginKey(key), []any{IDHash(binding), sealed, ttl.Milliseconds()}}
	if err := runScript(octx, s.client, call).Err(); err != nil {
		return s.fail(ctx, "put login", err)
	}
	return nil
}

// TakeLogin implements Store: one script compares the binding and, only when it matches,
// reads and deletes, so two concurrent takes of one key (a replayed callback on another
// replica) cannot both get the value, and a caller without the binding cannot burn it.
func (s *redisStore) TakeLogin(ctx context.Context, key string, bindings []string) ([]byte, error) {
	if len(bindings) == 0 || len(bindings) > maxLoginBindings {
		return nil, fmt.Errorf("session: take login: %w: %d bindings offered", ErrLoginNotBound, len(bindings))
	}
	hashes := make([]any, len(bindings))
	for i, b := range bindings {
		hashes[i] = IDHash(b)
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	res, err := runScript(octx, s.client, scriptCall{takeLoginScript, s.loginKey(key), hashes}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("session: take login: %w", ErrNotFound)
	case err != nil:
		return nil, s.fail(ctx, "take login", err)
	}
	v, ok := res.(string)
	if !ok {
		return nil, fmt.Errorf("session: take login: %w", ErrLoginNotBound)
	}
	plain, err := s.keys.open([]byte(v), loginAAD(key))
	if err != nil {
		return nil, fmt.Errorf("session: take login: %w: %w", ErrNotFound, err)
	}
	return plain, nil
}
