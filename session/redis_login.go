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

// takeScript is GETDEL as a script (any Redis version, one key): the value, gone from
// the store in the same step, or nil.
var takeScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
`)

// loginKey names the pending login stored under key: a hash, never the key itself (the
// handler uses the OAuth state, which must not be readable from a dump).
func (s *redisStore) loginKey(key string) string { return s.prefix + "login:" + IDHash(key) }

// loginAAD binds a sealed pending login to its place: it cannot be moved under another
// key, nor be taken for a session record (whose additional data is the bare id hash).
func loginAAD(key string) []byte { return []byte("login:" + IDHash(key)) }

// PutLogin implements Store: SET PX of the value sealed under the newest key.
func (s *redisStore) PutLogin(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return errors.New("session: put login: ttl must be at least 1ms")
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
	if err := s.client.Set(octx, s.loginKey(key), sealed, ttl).Err(); err != nil {
		return s.fail(ctx, "put login", err)
	}
	return nil
}

// TakeLogin implements Store: one script that reads and deletes, so two concurrent takes
// of one key (a replayed callback on another replica) cannot both get the value.
func (s *redisStore) TakeLogin(ctx context.Context, key string) ([]byte, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	v, err := runScript(octx, s.client, scriptCall{takeScript, s.loginKey(key), nil}).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("session: take login: %w", ErrNotFound)
	case err != nil:
		return nil, s.fail(ctx, "take login", err)
	}
	plain, err := s.keys.open([]byte(v), loginAAD(key))
	if err != nil {
		return nil, fmt.Errorf("session: take login: %w: %w", ErrNotFound, err)
	}
	return plain, nil
}
