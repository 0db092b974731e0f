package session

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts the reads that reach the store.
type countingStore struct {
	Store
	gets atomic.Int32
}

func (c *countingStore) Get(ctx context.Context, id string) (*Record, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, id)
}

func newCachedForTest(t *testing.T, ttl time.Duration, max int) (*Cached, *countingStore, *fakeClock) {
	t.Helper()
	clock := newFakeClock(time.Now())
	inner, err := NewEmbedded(t.Context(), Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inner.Close() })
	cs := &countingStore{Store: inner}
	return NewCached(cs, ttl, max, clock.Now).(*Cached), cs, clock
}

func TestCachedServesWithinTTLOnly(t *testing.T) {
	c, inner, clock := newCachedForTest(t, time.Second, 0)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "c")
	if err := c.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		got, err := c.Get(ctx, id)
		if err != nil || got.AccessToken != rec.AccessToken {
			t.Fatalf("get %d: %v", i, err)
		}
		got.AccessToken = "mutated by a caller" // must not reach the cache
	}
	if n := inner.gets.Load(); n != 0 {
		t.Fatalf("%d store reads within the TTL after a Save, want 0", n)
	}
	clock.Advance(time.Second)
	if got, err := c.Get(ctx, id); err != nil || got.AccessToken != rec.AccessToken {
		t.Fatalf("after the TTL: %v %v", got, err)
	}
	if n := inner.gets.Load(); n != 1 {
		t.Fatalf("%d store reads after the TTL, want 1", n)
	}
	if _, err := Uncached(c).Get(ctx, id); err != nil || inner.gets.Load() != 2 {
		t.Fatalf("Uncached read the cache: %v, %d store reads", err, inner.gets.Load())
	}
}

// TestCachedNeverServesAnEndedSession: every way a session ends reaches this replica's
// cache at once, on this replica and (WatchEnded) from the others.
func TestCachedNeverServesAnEndedSession(t *testing.T) {
	tests := []struct {
		name string
		end  func(ctx context.Context, c *Cached, id string, rec *Record) error
	}{
		{name: "delete", end: func(ctx context.Context, c *Cached, id string, _ *Record) error { return c.Delete(ctx, id) }},
		{name: "delete by sid", end: func(ctx context.Context, c *Cached, _ string, rec *Record) error {
			_, err := c.DeleteBySID(ctx, rec.SID)
			return err
		}},
		{name: "delete by subject", end: func(ctx context.Context, c *Cached, _ string, rec *Record) error {
			_, err := c.DeleteBySubject(ctx, rec.Subject)
			return err
		}},
		{name: "ended on another replica", end: func(ctx context.Context, c *Cached, id string, _ *Record) error {
			// Another replica deletes it in the store and announces it.
			if err := c.Store.Delete(ctx, id); err != nil {
				return err
			}
			return c.PublishEnded(ctx, []string{IDHash(id)})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, clock := newCachedForTest(t, time.Hour, 0)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			heard := make(chan string, 4)
			c.WatchEnded(ctx, func(h string) { heard <- h })
			id := mustID(t)
			rec := sampleRecord(clock.Now(), "e")
			if err := c.Save(ctx, id, rec); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, id); err != nil {
				t.Fatal(err)
			}
			if tc.name == "ended on another replica" {
				// The watcher subscribes asynchronously: announce until it hears.
				deadline := time.Now().Add(3 * time.Second)
				for len(heard) == 0 && time.Now().Before(deadline) {
					if err := tc.end(ctx, c, id, rec); err != nil {
						t.Fatal(err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			} else if err := tc.end(ctx, c, id, rec); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after the end = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCachedNeverServesPastAbsoluteExpiry(t *testing.T) {
	c, _, clock := newCachedForTest(t, time.Hour, 0)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "x")
	rec.AbsoluteExpiry = clock.Now().Add(time.Minute)
	if err := c.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := c.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get past the absolute expiry = %v, want ErrNotFound", err)
	}
}

func TestCachedIsBounded(t *testing.T) {
	c, _, clock := newCachedForTest(t, time.Hour, 50)
	for i := 0; i < 500; i++ {
		c.put(IDHash(mustID(t)), sampleRecord(clock.Now(), "b"))
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 50 {
		t.Fatalf("%d entries, cap 50", n)
	}
}

func TestNewCachedWithoutTTLIsTheStoreItself(t *testing.T) {
	_, inner, _ := newCachedForTest(t, time.Second, 0)
	if got := NewCached(inner, 0, 0, nil); got != Store(inner) {
		t.Fatal("a zero TTL wrapped the store")
	}
}
