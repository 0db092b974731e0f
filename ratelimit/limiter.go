package ratelimit

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxClients bounds the bucket table when Config.MaxClients is 0.
const DefaultMaxClients = 10000

// Config configures New.
type Config struct {
	// Rate is how many requests per second a client earns back (e.g. rate.Every(6*time.Second)
	// for 10 a minute). Required: > 0; rate.Inf disables limiting.
	Rate rate.Limit
	// Burst is how many requests a client may make at once. Required: >= 1 (unless
	// Rate is rate.Inf).
	Burst int
	// TrustedProxies are the peers whose X-Forwarded-For is believed (see ClientIP).
	// Default: none, so the TCP peer is the client. Listing a prefix a client can send
	// from lets that client pick its own bucket: it MUST NOT include untrusted networks.
	TrustedProxies []netip.Prefix
	// MaxClients bounds how many buckets are kept (memory under an address flood).
	// Default DefaultMaxClients.
	MaxClients int
	// IdleTimeout drops a bucket unused this long. Default: Burst/Rate, the time after
	// which an unused bucket is full again and dropping it changes nothing; at least 1s.
	IdleTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Shared, when set, holds the budgets in a store every replica uses (the session
	// store's Redis), so that N replicas allow one budget per client, not N. The
	// in-memory buckets then serve only while Shared fails (fail open: a store outage
	// must not become a login outage; each replica still limits on its own).
	Shared Shared
	// Scope names this deployment's budgets in Shared (e.g. the public URL): BFFs of
	// different apps on one Redis do not share budgets, replicas of one app do.
	Scope string
	// Logger receives the warning that Shared failed (at most one a minute). Default
	// slog.Default().
	Logger *slog.Logger
}

// Shared is a budget store shared by every replica. TakeToken takes one request from
// the budget of client in scope (at most burst at once, then one per every) and reports
// whether it is allowed and, if not, how long until one would be.
type Shared interface {
	TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (bool, time.Duration, error)
}

// sharedTimeout bounds one Shared call: a login must not hang on a slow store.
const sharedTimeout = time.Second

// Limiter holds one token bucket per client. It is safe for concurrent use.
type Limiter struct {
	limit     rate.Limit
	burst     int
	trusted   []netip.Prefix
	max       int
	idle      time.Duration
	now       func() time.Time
	unlimited bool
	shared    Shared
	scope     string
	log       *slog.Logger
	warned    atomic.Int64 // Unix seconds of the last "Shared failed" warning

	mu      sync.Mutex
	clients map[netip.Addr]*list.Element // of *bucket
	lru     list.List                    // front: most recently used
}

// bucket is one client's token bucket and when it was last used.
type bucket struct {
	key  netip.Addr
	last time.Time
	lim  *rate.Limiter
}

// New validates cfg, fills in the defaults and returns the Limiter. It reports every
// problem of cfg at once.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Limiter{
		limit:     cfg.Rate,
		burst:     cfg.Burst,
		max:       cfg.MaxClients,
		idle:      cfg.IdleTimeout,
		now:       cfg.Now,
		unlimited: cfg.Rate == rate.Inf,
		clients:   make(map[netip.Addr]*list.Element),
		shared:    cfg.Shared,
		scope:     cfg.Scope,
		log:       cfg.Logger,
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	for _, p := range cfg.TrustedProxies {
		l.trusted = append(l.trusted, normalizePrefix(p.Masked()))
	}
	if l.max == 0 {
		l.max = DefaultMaxClients
	}
	if l.idle == 0 {
		l.idle = refillTime(cfg.Rate, cfg.Burst)
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l, nil
}

func (c Config) validate() error {
	var errs []error
	if c.Rate != rate.Inf {
		if !(c.Rate > 0) {
			errs = append(errs, fmt.Errorf("ratelimit: Rate must be > 0, got %v", float64(c.Rate)))
		}
		if c.Burst < 1 {
			errs = append(errs, fmt.Errorf("ratelimit: Burst must be >= 1, got %d", c.Burst))
		}
	}
	if c.MaxClients < 0 {
		errs = append(errs, errors.New("ratelimit: MaxClients must not be negative"))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, errors.New("ratelimit: IdleTimeout must not be negative"))
	}
	return errors.Join(errs...)
}

// refillTime is how long an empty bucket takes to fill up: Burst/Rate, at least 1s.
func refillTime(r rate.Limit, burst int) time.Duration {
	secs := float64(burst) / float64(r)
	if secs > math.MaxInt64/float64(time.Second) {
		return math.MaxInt64
	}
	return max(time.Duration(secs*float64(time.Second)), time.Second)
}

// Allow takes one token from the bucket of r's client (see ClientIP; IPv6 by /64) and
// reports whether there was one. false means: answer 429 Too Many Requests.
func (l *Limiter) Allow(r *http.Request) bool {
	ok, _ := l.Take(r)
	return ok
}

// Take is Allow that also says, when it refuses, how long until the client's next
// request would be allowed (for Retry-After). With Config.Shared the budget is the one
// every replica shares; when that store fails, this replica's own bucket decides.
func (l *Limiter) Take(r *http.Request) (bool, time.Duration) {
	if l.unlimited {
		return true, 0
	}
	key := bucketKey(ClientIP(r, l.trusted))
	if l.shared != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), sharedTimeout)
		ok, wait, err := l.shared.TakeToken(ctx, l.scope, key.String(), l.every(), l.burst)
		cancel()
		if err == nil {
			return ok, wait
		}
		l.warnShared(err)
	}
	return l.takeLocal(key)
}

// takeLocal takes a token from key's in-memory bucket.
func (l *Limiter) takeLocal(key netip.Addr) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketFor(key, now)
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.lim.TokensAt(now)
	return false, time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// every is the time one token takes to come back.
func (l *Limiter) every() time.Duration {
	return time.Duration(float64(time.Second) / float64(l.limit))
}

// warnShared logs that the shared store failed, at most once a minute (an outage would
// otherwise log on every login).
func (l *Limiter) warnShared(err error) {
	now := l.now().Unix()
	last := l.warned.Load()
	if now-last < 60 || !l.warned.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("rate limit: the shared store failed; this replica limits logins on its own meanwhile",
		"event", "ratelimit_store_unavailable", "err", err)
}

// Len is how many client buckets are held (a gauge; tests).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// bucketFor returns key's bucket, marked used at now, creating it (and making room)
// when there is none. l.mu MUST be held.
func (l *Limiter) bucketFor(key netip.Addr, now time.Time) *bucket {
	if el, ok := l.clients[key]; ok {
		b := el.Value.(*bucket)
		b.last = now
		l.lru.MoveToFront(el)
		return b
	}
	l.evictIdle(now)
	if len(l.clients) >= l.max {
		l.remove(l.lru.Back())
	}
	b := &bucket{key: key, last: now, lim: rate.NewLimiter(l.limit, l.burst)}
	l.clients[key] = l.lru.PushFront(b)
	return b
}

// evictIdle drops the buckets unused for l.idle, oldest first. Each bucket is dropped
// at most once, so the cost is amortized O(1) per Allow. l.mu MUST be held.
func (l *Limiter) evictIdle(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		if now.Sub(el.Value.(*bucket).last) < l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	if el == nil {
		return
	}
	delete(l.clients, el.Value.(*bucket).key)
	l.lru.Remove(el)
}
