package session

import (
	"context"
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
// Safe for concurrent use. Memory is bounded by maxEntries.
type Cached struct {
	Store
	ttl        time.Duration
	maxEntries int
	now        func() time.Time
	loads      singleflight.Group // by IDHash

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
}

type cacheEntry struct {
	id      string
	rec     Record
	fetched time.Time
}

var _ Store = (*Cached)(nil)

// NewCached wraps s. ttl <= 0 returns s itself (no cache). maxEntries <= 0 means 10000.
func NewCached(s Store, ttl time.Duration, maxEntries int, now func() time.Time) Store {
	if ttl <= 0 {
		return s
	}
	if maxEntries <= 0 {
		maxEntries = 10000
	}
	if now == nil {
		now = time.Now
	}
	return &Cached{Store: s, ttl: ttl, maxEntries: maxEntries, now: now, entries: make(map[string]cacheEntry), hashes: make(map[string]string)}
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

// Get implements Store: a live cached copy younger than the TTL, else the store's.
func (c *Cached) Get(ctx context.Context, id string) (*Record, error) {
	now := c.now()
	c.mu.Lock()
	h, known := c.hashes[id]
	e := c.entries[h]
	c.mu.Unlock()
	// e.id == id holds by construction (the index is kept in step with the entries);
	// checked anyway, since a mistake here would serve another session's record.
	if known && e.id == id && now.Sub(e.fetched) < c.ttl && now.Before(e.rec.AbsoluteExpiry) {
		rec := e.rec
		return &rec, nil
	}
	if !known {
		h = IDHash(id)
	}
	return c.sharedLoad(ctx, h, id)
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
// before fn hears of them.
func (c *Cached) Watch(ctx context.Context, fn func(Event)) {
	c.Store.Watch(ctx, func(ev Event) {
		if ev.IDHash != "" {
			c.evict(ev.IDHash)
		}
		fn(ev)
	})
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
	c.entries[h] = cacheEntry{id: id, rec: *rec, fetched: now}
	c.hashes[id] = h
}

// deleteLocked drops h's entry and its id's hash.
func (c *Cached) deleteLocked(h string) {
	if e, ok := c.entries[h]; ok {
		delete(c.hashes, e.id)
		delete(c.entries, h)
	}
}

// pruneLocked drops stale entries and, if the cache is still full, arbitrary ones until
// a tenth is free (map order is random, so no session is favoured).
func (c *Cached) pruneLocked(now time.Time) {
	for h, e := range c.entries {
		if now.Sub(e.fetched) >= c.ttl {
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
