package session

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingStore counts the reads that reach the store.
type countingStore struct {
	Store
	gets atomic.Int32
	// touches counts Touch calls; touchRounds TouchMany calls, touchMany their id hashes.
	touches, touchRounds, touchMany atomic.Int32
}

func (c *countingStore) Touch(ctx context.Context, idHash string) (bool, error) {
	c.touches.Add(1)
	return c.Store.Touch(ctx, idHash)
}

func (c *countingStore) TouchMany(ctx context.Context, idHashes []string) ([]bool, error) {
	c.touchRounds.Add(1)
	c.touchMany.Add(int32(len(idHashes)))
	return c.Store.TouchMany(ctx, idHashes)
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
// cache at once, on this replica and (Watch) from the others.
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
		{name: "delete by id hash", end: func(ctx context.Context, c *Cached, id string, _ *Record) error {
			_, err := c.DeleteByIDHashes(ctx, []string{IDHash(id)})
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
			c.Watch(ctx, func(ev Event) {
				if ev.Kind == EventEnded {
					heard <- ev.IDHash
				}
			})
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

// TestCachedDropsASessionRefreshedElsewhere: another replica's refresh (its record
// rewritten, then announced) makes this replica read the new tokens, not its copy.
func TestCachedDropsASessionRefreshedElsewhere(t *testing.T) {
	c, _, clock := newCachedForTest(t, time.Hour, 0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	heard := make(chan struct{}, 16)
	c.Watch(ctx, func(ev Event) {
		if ev.Kind == EventRefreshed {
			heard <- struct{}{}
		}
	})
	id := mustID(t)
	if err := c.Save(ctx, id, sampleRecord(clock.Now(), "old")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	refreshed := sampleRecord(clock.Now(), "new")
	if err := c.Store.Update(ctx, id, refreshed); err != nil { // the other replica's write
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(heard) == 0 && time.Now().Before(deadline) { // the watch subscribes asynchronously
		if err := c.PublishRefreshed(ctx, []string{IDHash(id)}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := c.Get(ctx, id)
	if err != nil || got.AccessToken != refreshed.AccessToken {
		t.Fatalf("Get after a refresh elsewhere served the cached tokens (%v)", err)
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
		id := mustID(t)
		c.put(id, IDHash(id), sampleRecord(clock.Now(), "b"))
	}
	c.mu.Lock()
	n, ids := len(c.entries), len(c.hashes)
	c.mu.Unlock()
	if n > 50 || ids != n {
		t.Fatalf("%d entries (cap 50), %d id hashes: the index of ids must shrink with the entries", n, ids)
	}
}

func TestNewCachedWithoutTTLIsTheStoreItself(t *testing.T) {
	_, inner, _ := newCachedForTest(t, time.Second, 0)
	if got := NewCached(inner, 0, 0, nil); got != Store(inner) {
		t.Fatal("a zero TTL wrapped the store")
	}
}

// gatedStore lets a test hold reads inside the store: a read takes its value at once,
// then waits for release before returning it (as if the reply were still on the wire).
type gatedStore struct {
	Store
	gets    atomic.Int32
	started chan struct{}
	release chan struct{}
}

func (g *gatedStore) Get(ctx context.Context, id string) (*Record, error) {
	g.gets.Add(1)
	rec, err := g.Store.Get(ctx, id)
	g.started <- struct{}{}
	<-g.release
	return rec, err
}

func newGatedCache(t *testing.T) (*Cached, *gatedStore, *fakeClock) {
	t.Helper()
	c, inner, clock := newCachedForTest(t, time.Second, 0)
	g := &gatedStore{Store: inner.Store, started: make(chan struct{}, 100), release: make(chan struct{})}
	c.Store = g
	return c, g, clock
}

// TestCachedReadRacingADeleteDoesNotResurrectIt: a read that took the record before a
// logout deleted it returns after the delete; the cache must not keep the dead session.
func TestCachedReadRacingADeleteDoesNotResurrectIt(t *testing.T) {
	c, g, clock := newGatedCache(t)
	ctx := t.Context()
	id := mustID(t)
	if err := c.Store.Save(ctx, id, sampleRecord(clock.Now(), "d")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Get(ctx, id); done <- err }()
	<-g.started // the read holds the record
	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after the delete: %v, want ErrNotFound (the racing read re-cached it)", err)
	}
}

// TestCachedReadRacingASaveKeepsTheNewRecord: a read that took the old record before a
// refresh saved the new one must not overwrite the cached new record.
func TestCachedReadRacingASaveKeepsTheNewRecord(t *testing.T) {
	c, g, clock := newGatedCache(t)
	ctx := t.Context()
	id := mustID(t)
	if err := c.Store.Save(ctx, id, sampleRecord(clock.Now(), "old")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Get(ctx, id); done <- err }()
	<-g.started
	fresh := sampleRecord(clock.Now(), "new")
	if err := c.Save(ctx, id, fresh); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != fresh.Subject {
		t.Fatalf("Get after the save returned the record of %q, want the saved %q", got.Subject, fresh.Subject)
	}
}

// TestCachedConcurrentMissesShareOneRead: a burst of one session's requests costs one
// store read, and each caller gets its own copy.
func TestCachedConcurrentMissesShareOneRead(t *testing.T) {
	c, g, clock := newGatedCache(t)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "s")
	if err := c.Store.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	const n = 20
	got := make(chan *Record, n)
	go func() { r, _ := c.Get(ctx, id); got <- r }()
	<-g.started // the first miss is reading; the others join it
	var joined sync.WaitGroup
	for range n - 1 {
		joined.Add(1)
		go func() { joined.Done(); r, _ := c.Get(ctx, id); got <- r }()
	}
	joined.Wait()
	time.Sleep(200 * time.Millisecond) // let the joiners reach the shared read
	close(g.release)
	seen := map[*Record]bool{}
	for range n {
		r := <-got
		if r == nil || r.AccessToken != rec.AccessToken || seen[r] {
			t.Fatal("a caller got no record, another one, or the same copy as another caller")
		}
		seen[r] = true
	}
	if reads := g.gets.Load(); reads > 2 {
		t.Fatalf("%d store reads for %d concurrent misses, want 1 (2 if a joiner was late)", reads, n)
	}
}

// TestCachedWaiterLeavesOnItsContext: a caller whose context ends stops waiting for the
// shared read; the read goes on for the others.
func TestCachedWaiterLeavesOnItsContext(t *testing.T) {
	c, g, clock := newGatedCache(t)
	id := mustID(t)
	if err := c.Store.Save(t.Context(), id, sampleRecord(clock.Now(), "w")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := c.Get(ctx, id); done <- err }()
	<-g.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	close(g.release)
	if _, err := c.Get(t.Context(), id); err != nil {
		t.Fatal(err)
	}
}
