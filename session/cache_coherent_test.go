package session

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// announcingStore stands in for the store's pub/sub: Watch keeps fn, and the test (or
// the cache's probes through PublishRefreshed) announce through it synchronously.
type announcingStore struct {
	Store
	mu   sync.Mutex
	fn   func(Event)
	deaf atomic.Bool // published probes are lost
}

func (a *announcingStore) Watch(_ context.Context, fn func(Event)) {
	a.mu.Lock()
	a.fn = fn
	a.mu.Unlock()
}

func (a *announcingStore) announce(ev Event) {
	a.mu.Lock()
	fn := a.fn
	a.mu.Unlock()
	if fn != nil {
		fn(ev)
	}
}

func (a *announcingStore) PublishRefreshed(_ context.Context, hs []string) error {
	if !a.deaf.Load() {
		for _, h := range hs {
			a.announce(Event{Kind: EventRefreshed, IDHash: h})
		}
	}
	return nil
}

// coherentTTLForTest is the short TTL of these tests: the probe period, in real time.
const coherentTTLForTest = 20 * time.Millisecond

func newCoherentForTest(t *testing.T, inner Store, clock *fakeClock, idle time.Duration) (*Cached, *countingStore, *announcingStore) {
	t.Helper()
	cs := &countingStore{Store: inner}
	as := &announcingStore{Store: cs}
	c := NewCachedWith(as, CacheOptions{TTL: coherentTTLForTest, CoherentTTL: time.Hour, IdleTimeout: idle, Now: clock.Now}).(*Cached)
	return c, cs, as
}

// newEmbeddedCoherent is newCoherentForTest on an embedded store with a 10 h idle timeout.
func newEmbeddedCoherent(t *testing.T) (*Cached, *countingStore, *announcingStore, Store, *fakeClock) {
	t.Helper()
	clock := newFakeClock(time.Now())
	inner, err := NewEmbedded(t.Context(), Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: 10 * time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inner.Close() })
	c, cs, as := newCoherentForTest(t, inner, clock, 10*time.Hour)
	return c, cs, as, inner, clock
}

func (c *Cached) isLive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// subscribe starts c's Watch, announces its subscription and waits until c is coherent.
func subscribe(t *testing.T, ctx context.Context, c *Cached, as *announcingStore) {
	t.Helper()
	c.Watch(ctx, func(Event) {})
	as.announce(Event{Kind: EventResubscribed})
	waitLive(t, c, true)
}

// waitLive waits (real time: probes run on a ticker) until the cache is coherent or not.
func waitLive(t *testing.T, c *Cached, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.isLive() != want {
		if time.Now().After(deadline) {
			t.Fatalf("cache coherent = %v, want %v", !want, want)
		}
		time.Sleep(coherentTTLForTest / 4)
	}
}

// TestCachedTrustsTheCoherentTTLOnlyWhileSubscribed: entries live the long TTL only after
// the cache's own Watch heard EventResubscribed and while its probes come back; a lost
// probe falls back to the short TTL, and coherence regained or a resubscription drops
// every entry (announcements may have been lost meanwhile).
func TestCachedTrustsTheCoherentTTLOnlyWhileSubscribed(t *testing.T) {
	c, cs, as, _, clock := newEmbeddedCoherent(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "coherent")
	rec.AccessExpiry = clock.Now().Add(50 * time.Minute)
	if err := c.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	reads := func() int32 { return cs.gets.Load() }
	get := func(step string) {
		t.Helper()
		if got, err := c.Get(ctx, id); err != nil || got.AccessToken != rec.AccessToken {
			t.Fatalf("%s: %v", step, err)
		}
	}

	// No Watch yet: the short TTL.
	clock.Advance(time.Minute)
	get("before Watch")
	if reads() != 1 {
		t.Fatalf("%d store reads a minute after the save without a subscription, want 1", reads())
	}

	c.Watch(ctx, func(Event) {})
	if c.isLive() {
		t.Fatal("coherent before the subscription started")
	}
	as.announce(Event{Kind: EventResubscribed})
	waitLive(t, c, true)
	get("after the subscription") // dropped at the resubscription: one read
	clock.Advance(30 * time.Minute)
	get("coherent")
	if reads() != 2 {
		t.Fatalf("%d store reads, want 2 (the coherent TTL serves the copy for 30 minutes)", reads())
	}

	// Probes lost: back to the short TTL.
	as.deaf.Store(true)
	waitLive(t, c, false)
	clock.Advance(time.Minute)
	get("incoherent")
	if reads() != 3 {
		t.Fatalf("%d store reads, want 3 (a minute-old copy while probes are lost)", reads())
	}
	// Probes heard again: everything cached meanwhile goes once.
	as.deaf.Store(false)
	waitLive(t, c, true)
	get("coherent again")
	clock.Advance(10 * time.Minute)
	get("coherent again, later")
	if reads() != 4 {
		t.Fatalf("%d store reads, want 4 (one after coherence came back, then hits)", reads())
	}

	// A resubscription (announcements may have been lost) drops everything.
	as.announce(Event{Kind: EventResubscribed})
	get("after a resubscription")
	if reads() != 5 {
		t.Fatalf("%d store reads, want 5 (a resubscription drops the cache)", reads())
	}

	// Never past the access token's expiry (50 minutes after the save; the copy is 10
	// minutes old, well within the coherent TTL).
	clock.Advance(10 * time.Minute)
	if _, err := c.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	if reads() != 6 {
		t.Fatalf("%d store reads, want 6 (the copy outlived its access token)", reads())
	}

	// The Watch's end ends coherence.
	cancel()
	waitLive(t, c, false)
}

// TestCachedEndsAndRefreshesStayExactWhenCoherent: an announced end or refresh evicts a
// copy the coherent TTL would still serve.
func TestCachedEndsAndRefreshesStayExactWhenCoherent(t *testing.T) {
	c, _, as, inner, clock := newEmbeddedCoherent(t)
	ctx := t.Context()
	subscribe(t, ctx, c, as)
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "old")
	if err := c.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	// Another replica refreshes it and announces the refresh.
	newer := sampleRecord(rec.Created, "new")
	if err := inner.Update(ctx, id, newer); err != nil {
		t.Fatal(err)
	}
	as.announce(Event{Kind: EventRefreshed, IDHash: IDHash(id)})
	if got, err := c.Get(ctx, id); err != nil || got.AccessToken != newer.AccessToken {
		t.Fatalf("after an announced refresh: %v, the old token served: %v", err, got != nil && got.AccessToken == rec.AccessToken)
	}
	// Another replica ends it and announces the end.
	if err := inner.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	as.announce(Event{Kind: EventEnded, IDHash: IDHash(id)})
	if _, err := c.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after an announced end: %v, want ErrNotFound", err)
	}
}

// TestCachedHitsKeepTheSessionAliveInTheStore: a session used only through cache hits for
// longer than the idle timeout stays alive in the store (write-behind touches), and an
// unused one expires there and is not served from the cache. Embedded store, and real
// Redis when BFF_TEST_REDIS_URL is set.
func TestCachedHitsKeepTheSessionAliveInTheStore(t *testing.T) {
	stores := map[string]newStoreFunc{"embedded": newSuiteEmbedded}
	if url := os.Getenv("BFF_TEST_REDIS_URL"); url != "" {
		stores["redis"] = func(t *testing.T) (Store, *fakeClock, func(time.Duration)) { return newSuiteRedis(t, url) }
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			st, clock, advance := newStore(t)
			c, cs, as := newCoherentForTest(t, st, clock, suiteIdle)
			ctx := t.Context()
			subscribe(t, ctx, c, as)
			used, unused := mustID(t), mustID(t)
			for _, id := range []string{used, unused} {
				if err := c.Save(ctx, id, sampleRecord(clock.Now(), "idle")); err != nil {
					t.Fatal(err)
				}
			}
			for range 6 { // 6 x 200 units: more than twice the idle timeout (500)
				advance(ms(200))
				if _, err := c.Get(ctx, used); err != nil {
					t.Fatal(err)
				}
				c.flushTouches(ctx) // what the Watch's loop does every TTL
			}
			if n := cs.gets.Load(); n != 0 {
				t.Fatalf("%d store reads, want 0: the session was to be used through cache hits only", n)
			}
			if alive, err := st.Touch(ctx, IDHash(used)); err != nil || !alive {
				t.Fatalf("the session used through cache hits expired in the store: %v %v", alive, err)
			}
			if alive, err := st.Touch(ctx, IDHash(unused)); err != nil || alive {
				t.Fatalf("the unused session is still alive in the store: %v %v", alive, err)
			}
			if _, err := c.Get(ctx, unused); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the cache served a session that idled out in the store: %v", err)
			}
		})
	}
}

// TestCachedDropsAnEntryItsTouchFindsGone: a write-behind touch that finds the record
// gone (expired, or ended with the announcement lost) evicts the copy.
func TestCachedDropsAnEntryItsTouchFindsGone(t *testing.T) {
	st, clock, advance := newSuiteEmbedded(t)
	c, _, as := newCoherentForTest(t, st, clock, suiteIdle)
	ctx := t.Context()
	subscribe(t, ctx, c, as)
	id := mustID(t)
	if err := c.Save(ctx, id, sampleRecord(clock.Now(), "gone")); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, id); err != nil { // no announcement
		t.Fatal(err)
	}
	advance(ms(150))
	if _, err := c.Get(ctx, id); err != nil { // a hit: queues the touch
		t.Fatal(err)
	}
	c.flushTouches(ctx)
	if _, err := c.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a touch found the record gone: %v, want ErrNotFound", err)
	}
}

// TestCachedSendsItsTouchesInPipelines: the write-behind touches of many sessions go out
// touchBatch per round trip (TouchMany), not one round trip each, and each slides its own
// record: 100 sessions used through cache hits cost 2 TouchMany and stay alive.
func TestCachedSendsItsTouchesInPipelines(t *testing.T) {
	st, clock, advance := newSuiteEmbedded(t)
	c, cs, as := newCoherentForTest(t, st, clock, suiteIdle)
	ctx := t.Context()
	subscribe(t, ctx, c, as)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = mustID(t)
		if err := c.Save(ctx, ids[i], sampleRecord(clock.Now(), "many")); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // 3 x 200 units: past the idle timeout (500), alive only by the touches
		advance(ms(200))
		for _, id := range ids {
			if _, err := c.Get(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		c.flushTouches(ctx)
	}
	if n, rounds, one := cs.touchMany.Load(), cs.touchRounds.Load(), cs.touches.Load(); n < 100 || rounds > n/touchBatch+3 || one != 0 {
		t.Fatalf("%d touches in %d TouchMany and %d single Touch; want every session touched, %d per round trip", n, rounds, one, touchBatch)
	}
	if n := cs.gets.Load(); n != 0 {
		t.Fatalf("%d store reads, want 0 (cache hits only)", n)
	}
	live, err := st.TouchMany(ctx, []string{IDHash(ids[0]), IDHash(ids[99])})
	if err != nil || len(live) != 2 || !live[0] || !live[1] {
		t.Fatalf("sessions used through cache hits: %v %v, want alive in the store", live, err)
	}
}
