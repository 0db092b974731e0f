package session

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cached is a Store decorator that keeps recently read records in this replica's memory
// for a short TTL, so that a burst of API calls of one session costs one store round trip
// per TTL instead of one per request (the session read is most of a proxied request's
// cost: docs/performance.md).
//
// What stays exact: every write (Save, Delete, DeleteBy*, DeleteByIDHashes) goes to the store first and then
// updates or evicts the cached entry; ended sessions announced by any replica (WatchEnded)
// are evicted; a record past its absolute expiry is never served. What the TTL allows: a
// session ended on another replica whose announcement was lost stays usable here for at
// most TTL, and another replica's refreshed token is seen here within TTL (the old one is
// still valid then: refreshes happen before expiry). The refresher MUST read through
// Uncached(): its re-read under the lock is what makes refresh exactly-once.
//
// Concurrent misses of one session share one store read, so a burst of a session's
// requests costs one round trip however many arrive before the first read returns.
//
// Coherent mode (CacheOptions.CoherentTTL > TTL): while this cache's own Watch is
// subscribed and hears its own probes, an entry lives up to CoherentTTL instead of TTL,
// since every end and refresh is announced and evicts it. It trusts the long TTL only
// after its Watch heard EventResubscribed (dropping everything then); it publishes a probe
// (an EventRefreshed of a random id hash no session has) every TTL and, when one is not
// heard back before the next, falls back to TTL until one is, and then drops everything
// again (announcements may have been lost meanwhile). Cache hits do not reach the store,
// so they do not slide the record's idle expiry there: a hit on an entry whose last store
// contact is older than a quarter of the idle timeout queues a write-behind Touch, which
// Watch's goroutine sends in batches, off the request path; an entry whose last store
// contact is older than half the idle timeout is not served (the store decides).
//
// Safe for concurrent use. Memory is bounded by maxEntries.
type Cached struct {
	Store
	ttl        time.Duration
	coherent   time.Duration // CacheOptions.CoherentTTL; <= ttl: off
	idle       time.Duration // the store's idle timeout; 0: unknown (no write-behind touch)
	maxEntries int
	now        func() time.Time
	loads      singleflight.Group // by IDHash
	watching   sync.Once          // the coherence loop runs for the first Watch only

	mu      sync.Mutex
	entries map[string]cacheEntry // by IDHash
	// hashes maps each cached entry's id to its IDHash, so that a hit costs a map lookup
	// instead of a SHA-256 (the hit is the hot path of a proxied request). Kept in step
	// with entries: every entry's id is here, and nothing else.
	hashes map[string]string
	// gen counts the writes and evictions. A read that began before one of them may
	// hold what the write replaced (a deleted session, an old token), so it is returned
	// to its caller but not cached.
	gen uint64
	// live: the coherent TTL applies (the subscription is up and heard the last probe).
	live bool
	// probe is the id hash of the probe in flight ("" none); heard says it came back.
	probe string
	heard bool
	// touches are the id hashes whose entries wait for a write-behind Touch, which only
	// a running flush loop (flushing) sends: without one, nothing is queued.
	touches  []string
	flushing bool
}

type cacheEntry struct {
	id      string
	rec     Record
	fetched time.Time
	// touched is the entry's last store contact (the read, or a write-behind Touch that
	// found the record live): the store's idle expiry was slid then.
	touched time.Time
	queued  bool // in Cached.touches
}

var _ Store = (*Cached)(nil)

// CacheOptions configure NewCachedWith.
type CacheOptions struct {
	// TTL is how long an entry is served when the cache is not coherent. <= 0: no cache.
	TTL time.Duration
	// CoherentTTL is how long an entry is served while the cache is coherent (see
	// Cached); <= TTL: never longer than TTL.
	CoherentTTL time.Duration
	// IdleTimeout is the store's idle timeout: hits queue a write-behind Touch every
	// quarter of it, and an entry untouched for half of it is not served. 0: no touch
	// (only for a TTL far below the idle timeout).
	IdleTimeout time.Duration
	// MaxEntries bounds the entries; <= 0 means DefaultCacheEntries.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultCacheEntries is the entry cap when none is given.
const DefaultCacheEntries = 10000

// NewCached wraps s. ttl <= 0 returns s itself (no cache). maxEntries <= 0 means
// DefaultCacheEntries.
func NewCached(s Store, ttl time.Duration, maxEntries int, now func() time.Time) Store {
	return NewCachedWith(s, CacheOptions{TTL: ttl, MaxEntries: maxEntries, Now: now})
}

// NewCachedWith wraps s as o says. o.TTL <= 0 returns s itself (no cache).
func NewCachedWith(s Store, o CacheOptions) Store {
	if o.TTL <= 0 {
		return s
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cached{Store: s, ttl: o.TTL, coherent: o.CoherentTTL, idle: max(o.IdleTimeout, 0), maxEntries: o.MaxEntries,
		now: o.Now, entries: make(map[string]cacheEntry), hashes: make(map[string]string)}
}

// Uncached returns a view of s whose Get always reads the store (and refreshes the cached
// entry), while its writes still keep the cache exact. For stores that are not a *Cached
// it returns s.
func Uncached(s Store) Store {
	if c, ok := s.(*Cached); ok {
		return uncached{c}
	}
	return s
}

type uncached struct{ *Cached }

// Get implements Store: always from the store, never joining a read already in flight
// (which may have begun before another replica's write that this caller must see).
func (u uncached) Get(ctx context.Context, id string) (*Record, error) {
	return u.load(ctx, IDHash(id), id)
}

// Get implements Store: a live cached copy younger than the TTL (the coherent TTL while
// the cache is coherent), else the store's.
func (c *Cached) Get(ctx context.Context, id string) (*Record, error) {
	now := c.now()
	c.mu.Lock()
	h, known := c.hashes[id]
	e := c.entries[h]
	// e.id == id holds by construction (the index is kept in step with the entries);
	// checked anyway, since a mistake here would serve another session's record.
	if known && e.id == id && c.servableLocked(&e, now) {
		if c.flushing && c.idle > 0 && !e.queued && now.Sub(e.touched) >= c.idle/4 {
			e.queued = true
			c.entries[h] = e
			c.touches = append(c.touches, h)
		}
		c.mu.Unlock()
		rec := e.rec
		return &rec, nil
	}
	c.mu.Unlock()
	if !known {
		h = IDHash(id)
	}
	return c.sharedLoad(ctx, h, id)
}

// servableLocked says whether e may be served at now: younger than the TTL in force,
// before its absolute expiry and its access token's expiry, and (with an idle timeout)
// in contact with the store within half of it, so that its record there cannot have
// idled out.
func (c *Cached) servableLocked(e *cacheEntry, now time.Time) bool {
	ttl := c.ttl
	if c.live && c.coherent > ttl {
		ttl = c.coherent
	}
	if now.Sub(e.fetched) >= ttl || !now.Before(e.rec.AbsoluteExpiry) {
		return false
	}
	if !e.rec.AccessExpiry.IsZero() && !now.Before(e.rec.AccessExpiry) {
		return false
	}
	return c.idle <= 0 || now.Sub(e.touched) < c.idle/2
}

// sharedLoad is load shared by the concurrent misses of one session. The read runs
// detached from the first caller's cancellation (the store bounds it by its operation
// timeout); each caller waits on its own ctx.
func (c *Cached) sharedLoad(ctx context.Context, h, id string) (*Record, error) {
	ch := c.loads.DoChan(h, func() (any, error) {
		return c.load(context.WithoutCancel(ctx), h, id)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("session: get: %w", ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		rec := *res.Val.(*Record) // each caller its own copy
		return &rec, nil
	}
}

// load reads the store and caches the result unless a write came in meanwhile. h is
// IDHash(id).
func (c *Cached) load(ctx context.Context, h, id string) (*Record, error) {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	rec, err := c.Store.Get(ctx, id)
	if err != nil {
		// Only this entry goes: a failed read is no write, so other reads stay cacheable
		// (an unknown or ended session's cookie must not void every session's reads).
		c.mu.Lock()
		c.deleteLocked(h)
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.putLocked(id, h, rec)
	}
	c.mu.Unlock()
	return rec, nil
}

// Save implements Store: the store first, then the cache holds what was saved.
func (c *Cached) Save(ctx context.Context, id string, rec *Record) error {
	h := IDHash(id)
	c.evict(h)
	if err := c.Store.Save(ctx, id, rec); err != nil {
		return err
	}
	c.put(id, h, rec)
	return nil
}

// Update implements Store, caching the record only when the store took it.
func (c *Cached) Update(ctx context.Context, id string, rec *Record) error {
	h := IDHash(id)
	c.evict(h)
	if err := c.Store.Update(ctx, id, rec); err != nil {
		return err
	}
	c.put(id, h, rec)
	return nil
}

// Delete implements Store. It evicts again once the store is done: a read that began
// before the delete must not put the record back.
func (c *Cached) Delete(ctx context.Context, id string) error {
	c.evict(IDHash(id))
	defer c.evict(IDHash(id))
	return c.Store.Delete(ctx, id)
}

// DeleteBySID implements Store.
func (c *Cached) DeleteBySID(ctx context.Context, sid string) ([]string, error) {
	hs, err := c.Store.DeleteBySID(ctx, sid)
	c.evict(hs...)
	return hs, err
}

// DeleteBySubject implements Store.
func (c *Cached) DeleteBySubject(ctx context.Context, sub string) ([]string, error) {
	hs, err := c.Store.DeleteBySubject(ctx, sub)
	c.evict(hs...)
	return hs, err
}

// DeleteBySIDAndSubject implements Store.
func (c *Cached) DeleteBySIDAndSubject(ctx context.Context, sid, sub string) ([]string, error) {
	hs, err := c.Store.DeleteBySIDAndSubject(ctx, sid, sub)
	c.evict(hs...)
	return hs, err
}

// DeleteByIDHashes implements Store, evicting what it names (deleted or not: an entry
// of a record already gone must not be served either).
func (c *Cached) DeleteByIDHashes(ctx context.Context, idHashes []string) ([]string, error) {
	c.evict(idHashes...)
	defer c.evict(idHashes...)
	return c.Store.DeleteByIDHashes(ctx, idHashes)
}

// Watch implements Store: sessions ended or refreshed on any replica leave this cache
// before fn hears of them. The first Watch also makes the cache coherent (see Cached):
// an EventResubscribed drops every entry and lets the coherent TTL apply; until ctx ends,
// it probes the subscription every TTL and sends the write-behind touches.
func (c *Cached) Watch(ctx context.Context, fn func(Event)) {
	own := false
	c.watching.Do(func() { own = true })
	c.Store.Watch(ctx, func(ev Event) {
		switch {
		case own && ev.Kind == EventResubscribed:
			c.dropAll(true)
		case own && ev.Kind == EventRefreshed && c.heardProbe(ev.IDHash):
			return // our own probe: no session's business
		case ev.IDHash != "":
			c.evict(ev.IDHash)
		}
		fn(ev)
	})
	if own {
		go c.maintain(ctx)
	}
}

// maintain runs the coherence loop of the first Watch until ctx ends: a probe every
// TTL, and the queued touches as often.
func (c *Cached) maintain(ctx context.Context) {
	tick := time.NewTicker(c.ttl)
	defer tick.Stop()
	c.mu.Lock()
	c.flushing = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.flushing = false
		c.mu.Unlock()
		c.dropAll(false) // no subscription any more: back to the short TTL
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if c.coherent > c.ttl {
			c.sendProbe(ctx)
		}
		c.flushTouches(ctx)
	}
}

// sendProbe ends the coherence of a cache whose last probe did not come back, and
// publishes the next one.
func (c *Cached) sendProbe(ctx context.Context) {
	probe := IDHash(rand.Text())
	c.mu.Lock()
	if c.probe != "" && !c.heard {
		c.live = false
	}
	c.probe, c.heard = probe, false
	c.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, c.ttl)
	defer cancel()
	_ = c.Store.PublishRefreshed(pctx, []string{probe}) // a failure shows as a probe not heard
}

// heardProbe reports whether h is this cache's probe in flight; when it is and the cache
// was not coherent, everything cached meanwhile goes (announcements may have been lost)
// and the coherent TTL applies again.
func (c *Cached) heardProbe(h string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == "" || h != c.probe {
		return false
	}
	c.heard = true
	if !c.live {
		c.dropAllLocked()
		c.live = true
	}
	return true
}

// dropAll empties the cache and says whether the coherent TTL applies from now on.
func (c *Cached) dropAll(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropAllLocked()
	c.live = live && c.coherent > c.ttl
	c.probe, c.heard = "", false
}

func (c *Cached) dropAllLocked() {
	c.gen++
	for h := range c.entries {
		c.loads.Forget(h)
	}
	clear(c.entries)
	clear(c.hashes)
	c.touches = c.touches[:0]
}

// touchBatch bounds the touches sent in one TouchMany (one round trip).
const touchBatch = 64

// flushTouches sends the queued write-behind touches, touchBatch per round trip: each
// slides its record's idle expiry in the store, or finds it gone and evicts the entry.
func (c *Cached) flushTouches(ctx context.Context) {
	c.mu.Lock()
	hs := c.touches
	c.touches = nil
	c.mu.Unlock()
	for len(hs) > 0 {
		n := min(len(hs), touchBatch)
		c.touchMany(ctx, hs[:n])
		hs = hs[n:]
	}
}

func (c *Cached) touchMany(ctx context.Context, hs []string) {
	at := c.now()
	tctx, cancel := context.WithTimeout(ctx, max(c.ttl, time.Second))
	live, err := c.Store.TouchMany(tctx, hs)
	cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, h := range hs {
		e, ok := c.entries[h]
		if !ok || !e.queued {
			continue // evicted or replaced meanwhile: the next read goes to the store
		}
		switch {
		case err != nil || i >= len(live):
			e.queued = false // the next hit queues it again
			c.entries[h] = e
		case !live[i]:
			c.gen++
			c.deleteLocked(h)
		default:
			e.queued, e.touched = false, at
			c.entries[h] = e
		}
	}
}

// put caches what a write stored; like any write it voids the reads in flight.
func (c *Cached) put(id, h string, rec *Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.loads.Forget(h)
	c.putLocked(id, h, rec)
}

func (c *Cached) putLocked(id, h string, rec *Record) {
	now := c.now()
	if len(c.entries) >= c.maxEntries {
		c.pruneLocked(now)
	}
	c.entries[h] = cacheEntry{id: id, rec: *rec, fetched: now, touched: now}
	c.hashes[id] = h
}

// deleteLocked drops h's entry and its id's hash.
func (c *Cached) deleteLocked(h string) {
	if e, ok := c.entries[h]; ok {
		delete(c.hashes, e.id)
		delete(c.entries, h)
	}
}

// pruneLocked drops entries that may not be served and, if the cache is still full,
// arbitrary ones until a tenth is free (map order is random, so no session is favoured).
func (c *Cached) pruneLocked(now time.Time) {
	for h, e := range c.entries {
		if !c.servableLocked(&e, now) {
			c.deleteLocked(h)
		}
	}
	for h := range c.entries {
		if len(c.entries) < c.maxEntries-c.maxEntries/10 {
			break
		}
		c.deleteLocked(h)
	}
}

func (c *Cached) evict(hs ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, h := range hs {
		c.loads.Forget(h) // later readers must not join a read that began before this write
		c.deleteLocked(h)
	}
}
