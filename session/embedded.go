package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// embeddedTick is how often the embedded server's TTLs catch up with real time.
const embeddedTick = time.Second

// NewEmbedded starts miniredis in this process, on a random loopback port behind a
// random password, and returns the SAME Redis store over it (same scripts, same
// pub/sub). Records are not shared with other replicas and are lost on restart.
// opts.URL and opts.Client MUST be empty. Close stops the server.
//
// miniredis only expires keys when told that time passed, so a goroutine moves its
// clock forward by the real elapsed time every second: TTLs expire (up to one tick
// late; absolute expiry is checked exactly, against Options.Now) and memory is given
// back. ctx is reserved for startup I/O.
func NewEmbedded(ctx context.Context, opts Options) (Store, error) {
	s, _, err := newEmbedded(opts, embeddedTick, time.Now)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// newEmbedded is NewEmbedded with the tick period (0: no ticker, tests move time
// themselves) and the wall clock of the ticker; it also returns the server.
func newEmbedded(opts Options, tick time.Duration, wall func() time.Time) (*redisStore, *miniredis.Miniredis, error) {
	if opts.URL != "" || opts.Client != nil {
		return nil, nil, errors.New("session: embedded store: URL and Client must be empty")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	password, err := embeddedPassword()
	if err != nil {
		return nil, nil, err
	}
	m := miniredis.NewMiniRedis()
	m.RequireAuth(password)
	if err := m.Start(); err != nil { // listens on 127.0.0.1, random port
		return nil, nil, fmt.Errorf("session: embedded store: start: %w", err)
	}
	target := redisTarget{mode: modeSingle, single: &redis.Options{Addr: m.Addr(), Password: password}}
	target.tighten(opts.OpTimeout)
	client := target.client()
	s := newRedisStore(opts, client, client.Close)
	stopTicker := func() error { return nil }
	if tick > 0 {
		stopTicker = startClockTicker(m, tick, wall)
	}
	s.closers = append(s.closers, stopTicker, func() error { m.Close(); return nil })
	return s, m, nil
}

// embeddedPassword keeps other local users and processes out of the loopback port.
func embeddedPassword() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: embedded store: password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// startClockTicker advances m's TTLs (FastForward) and clock (SetTime) by the real
// elapsed time every period, which also deletes expired keys. It returns a function
// that stops the ticker and waits for it.
func startClockTicker(m *miniredis.Miniredis, period time.Duration, wall func() time.Time) func() error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		last := wall()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				now := wall()
				if d := now.Sub(last); d > 0 {
					m.FastForward(d)
				}
				m.SetTime(now)
				last = now
			}
		}
	})
	var once sync.Once
	return func() error {
		once.Do(func() { close(stop); wg.Wait() })
		return nil
	}
}
