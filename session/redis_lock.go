package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lock implements Store: SET NX PX with a random token that only this holder knows.
func (s *redisStore) Lock(ctx context.Context, id string, lease time.Duration) (Lock, error) {
	if lease < time.Millisecond {
		return nil, errors.New("session: lock: lease must be at least 1ms")
	}
	token, err := lockToken()
	if err != nil {
		return nil, err
	}
	idHash := IDHash(id)
	l := &redisLock{s: s, key: s.lockKey(idHash), channel: s.unlockChannel(idHash), token: token}
	octx, cancel := s.op(ctx)
	defer cancel()
	ok, err := s.client.SetNX(octx, l.key, token, lease).Result()
	switch {
	case err != nil:
		return nil, s.fail(ctx, "lock", err)
	case !ok:
		return nil, fmt.Errorf("session: lock: %w", ErrLockHeld)
	}
	return l, nil
}

func lockToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: lock token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// redisLock is one held lease. Renew and Release are compare-and-set scripts on the
// token, so a holder whose lease expired can never extend or delete the lease of the
// next holder. Safe for concurrent use.
type redisLock struct {
	s       *redisStore
	key     string
	channel string
	token   string
}

// Renew implements Lock.
func (l *redisLock) Renew(ctx context.Context, lease time.Duration) error {
	if lease < time.Millisecond {
		return errors.New("session: renew lock: lease must be at least 1ms")
	}
	return l.compareAndSet(ctx, "renew lock", scriptCall{renewScript, l.key, []any{l.token, lease.Milliseconds()}})
}

// Release implements Lock. It publishes on the lock's channel, waking WaitUnlock
// callers on every replica.
func (l *redisLock) Release(ctx context.Context) error {
	return l.compareAndSet(ctx, "release lock", scriptCall{releaseScript, l.key, []any{l.token, l.channel}})
}

func (l *redisLock) compareAndSet(ctx context.Context, op string, call scriptCall) error {
	octx, cancel := l.s.op(ctx)
	defer cancel()
	n, err := runScript(octx, l.s.client, call).Int()
	switch {
	case err != nil:
		return l.s.fail(ctx, op, err)
	case n != 1:
		return fmt.Errorf("session: %s: %w", op, ErrLockLost)
	}
	return nil
}

// WaitUnlock implements Store. It subscribes to the lock's channel (woken at once by
// Release) and re-checks the lock key on a backoff from pollMin to pollMax (a lease
// can also just expire, which publishes nothing). It holds one pub/sub connection
// while it waits. When ctx ends it returns an error wrapping ctx.Err().
func (s *redisStore) WaitUnlock(ctx context.Context, id string) error {
	idHash := IDHash(id)
	key := s.lockKey(idHash)
	if held, err := s.lockHeld(ctx, key); err != nil || !held {
		return err
	}
	ps, err := s.subscribe(ctx, s.unlockChannel(idHash))
	if err != nil {
		return err
	}
	defer ps.Close()
	// Re-check after subscribing: a release between the first check and the
	// subscription published to nobody.
	if held, err := s.lockHeld(ctx, key); err != nil || !held {
		return err
	}
	return s.waitReleased(ctx, key, ps.Channel())
}

// waitReleased blocks until a message arrives, the key is gone at a re-check, or ctx
// ends.
func (s *redisStore) waitReleased(ctx context.Context, key string, msgs <-chan *redis.Message) error {
	backoff := s.pollMin
	timer := time.NewTimer(backoff)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("session: wait unlock: %w", ctx.Err())
		case <-msgs:
			return nil
		case <-timer.C:
			held, err := s.lockHeld(ctx, key)
			if err != nil || !held {
				return err
			}
			backoff = min(2*backoff, s.pollMax)
			timer.Reset(backoff)
		}
	}
}

// subscribe subscribes to channel and waits for the server's confirmation, so that a
// later PUBLISH cannot be missed.
func (s *redisStore) subscribe(ctx context.Context, channel string) (*redis.PubSub, error) {
	ps := s.client.Subscribe(ctx)
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := ps.Subscribe(octx, channel); err != nil {
		_ = ps.Close()
		return nil, s.fail(ctx, "wait unlock: subscribe", err)
	}
	if _, err := ps.ReceiveTimeout(octx, s.opTimeout); err != nil {
		_ = ps.Close()
		return nil, s.fail(ctx, "wait unlock: subscribe", err)
	}
	return ps, nil
}

func (s *redisStore) lockHeld(ctx context.Context, key string) (bool, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	n, err := s.client.Exists(octx, key).Result()
	if err != nil {
		return false, s.fail(ctx, "wait unlock", err)
	}
	return n > 0, nil
}
