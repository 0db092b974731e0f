package ratelimit

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// clock is the injected clock of the tests. Safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustNew(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestBurstThenLimited(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Minute), Burst: 3, Now: c.Now})
	for i := range 3 {
		if !l.Allow(request("203.0.113.7:1000")) {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if l.Allow(request("203.0.113.7:1001")) {
		t.Fatal("request beyond the burst allowed; want refused (429)")
	}
	if !l.Allow(request("203.0.113.8:1000")) {
		t.Fatal("another client was refused: buckets must be per client")
	}
}

func TestRefillWithInjectedClock(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(10 * time.Second), Burst: 2, Now: c.Now})
	r := request("203.0.113.7:1000")
	tests := []struct {
		name    string
		advance time.Duration
		want    bool
	}{
		{name: "first of burst", want: true},
		{name: "second of burst", want: true},
		{name: "empty", want: false},
		{name: "not refilled yet", advance: 9 * time.Second, want: false},
		{name: "one token back", advance: time.Second, want: true},
		{name: "empty again", want: false},
		{name: "long pause refills only up to burst", advance: time.Hour, want: true},
		{name: "second after pause", want: true},
		{name: "third after pause", want: false},
	}
	for _, tc := range tests {
		c.Advance(tc.advance)
		if got := l.Allow(r); got != tc.want {
			t.Fatalf("%s: Allow = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRotatingSpoofedXFFDoesNotEscapeTheLimit: a client that sends a new
// X-Forwarded-For on every request, directly, still drains its own bucket.
func TestRotatingSpoofedXFFDoesNotEscapeTheLimit(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Minute), Burst: 2, Now: c.Now,
		TrustedProxies: prefixes(t, "10.0.0.0/8")})
	allowed := 0
	for i := range 50 {
		if l.Allow(request("203.0.113.7:1000", fmt.Sprintf("198.51.100.%d", i))) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d requests allowed, want the burst of 2", allowed)
	}
}

// TestIPv6AddressHoppingWithinA64IsOneClient: a client owning a /64 cannot get a fresh
// bucket per address.
func TestIPv6AddressHoppingWithinA64IsOneClient(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Minute), Burst: 2, Now: c.Now})
	allowed := 0
	for i := range 50 {
		if l.Allow(request(fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1))) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("%d requests allowed from one /64, want 2", allowed)
	}
	if !l.Allow(request("[2001:db8:1:3::1]:443")) {
		t.Fatal("the next /64 was refused")
	}
}

func TestTrustedProxyClientsGetTheirOwnBuckets(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Minute), Burst: 1, Now: c.Now,
		TrustedProxies: prefixes(t, "10.0.0.0/8")})
	if !l.Allow(request("10.0.0.2:80", "203.0.113.7")) || !l.Allow(request("10.0.0.2:80", "203.0.113.8")) {
		t.Fatal("two clients behind the proxy share a bucket")
	}
	if l.Allow(request("10.0.0.3:80", "198.51.100.1, 203.0.113.7")) {
		t.Fatal("client 203.0.113.7 got a second request through a spoofed left-most entry")
	}
}

// TestAddressFloodMemoryIsBounded: 100k distinct source addresses hold at most
// MaxClients buckets.
func TestAddressFloodMemoryIsBounded(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Minute), Burst: 5, MaxClients: 1000, Now: c.Now})
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(request(netip.AddrPortFrom(a, 1).String()))
		if i%10_000 == 0 {
			if n := l.Len(); n > 1000 {
				t.Fatalf("after %d addresses: %d buckets, want <= 1000", i+1, n)
			}
		}
	}
	if n, m := l.Len(), l.lru.Len(); n != 1000 || m != n {
		t.Fatalf("%d buckets in the map, %d in the LRU, want 1000 and 1000", n, m)
	}
}

func TestDefaultMaxClientsBoundsTheTable(t *testing.T) {
	l := mustNew(t, Config{Rate: rate.Every(time.Minute), Burst: 1, Now: newClock().Now})
	for i := range DefaultMaxClients + 500 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Allow(request(netip.AddrPortFrom(a, 1).String()))
	}
	if n := l.Len(); n != DefaultMaxClients {
		t.Fatalf("%d buckets, want %d", n, DefaultMaxClients)
	}
}

func TestLeastRecentlyUsedIsEvictedFirst(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Hour), Burst: 1, MaxClients: 2, Now: c.Now})
	a, b, d := request("203.0.113.1:1"), request("203.0.113.2:1"), request("203.0.113.3:1")
	l.Allow(a) // a: drained
	l.Allow(b)
	l.Allow(a) // a used last: b is now the least recently used
	l.Allow(d) // evicts b
	if l.Allow(a) {
		t.Fatal("a's drained bucket was evicted instead of b's")
	}
	if !l.Allow(b) {
		t.Fatal("b was not evicted (its bucket is still drained)")
	}
}

func TestIdleBucketsAreDropped(t *testing.T) {
	c := newClock()
	// Burst 2 at one per 10 s: a bucket is full again after 20 s, the default idle timeout.
	l := mustNew(t, Config{Rate: rate.Every(10 * time.Second), Burst: 2, Now: c.Now})
	for i := range 100 {
		l.Allow(request(fmt.Sprintf("203.0.113.%d:1", i)))
	}
	c.Advance(19 * time.Second)
	l.Allow(request("198.51.100.1:1"))
	if n := l.Len(); n != 101 {
		t.Fatalf("before the idle timeout: %d buckets, want 101", n)
	}
	c.Advance(2 * time.Second)
	l.Allow(request("198.51.100.2:1"))
	if n := l.Len(); n != 2 {
		t.Fatalf("after the idle timeout: %d buckets, want 2 (the two recent ones)", n)
	}
}

// TestConcurrentAllowWithChurnKeepsTheTableConsistent: many goroutines on overlapping
// and churning addresses (run with -race) leave a bounded, consistent table.
func TestConcurrentAllowWithChurnKeepsTheTableConsistent(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{Rate: rate.Every(time.Second), Burst: 3, MaxClients: 50, Now: c.Now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				l.Allow(request(fmt.Sprintf("203.0.113.%d:1", (i*(g+1))%100)))
				if g == 0 && i%100 == 0 {
					c.Advance(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, m := len(l.clients), l.lru.Len(); n > 50 || n != m {
		t.Fatalf("%d buckets in the map, %d in the LRU, want equal and <= 50", n, m)
	}
	for el := l.lru.Front(); el != nil; el = el.Next() {
		if l.clients[el.Value.(*bucket).key] != el {
			t.Fatal("LRU element not indexed by the map")
		}
	}
}

// TestConcurrentRequestsOfOneClientGetExactlyTheBurst: 800 simultaneous login
// attempts from one address pass exactly Burst times.
func TestConcurrentRequestsOfOneClientGetExactlyTheBurst(t *testing.T) {
	c := newClock() // frozen: no refill during the test
	l := mustNew(t, Config{Rate: rate.Every(time.Hour), Burst: 10, Now: c.Now})
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if l.Allow(request("203.0.113.7:1")) {
					got.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got.Load() != 10 {
		t.Fatalf("%d of 800 concurrent requests allowed, want exactly the burst of 10", got.Load())
	}
}

func TestInfiniteRateAllowsEverythingAndKeepsNothing(t *testing.T) {
	l := mustNew(t, Config{Rate: rate.Inf})
	for range 100 {
		if !l.Allow(request("203.0.113.7:1")) {
			t.Fatal("refused with rate.Inf")
		}
	}
	if l.Len() != 0 {
		t.Fatalf("%d buckets with rate.Inf, want 0", l.Len())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{name: "valid", cfg: Config{Rate: 1, Burst: 1}, ok: true},
		{name: "zero rate", cfg: Config{Rate: 0, Burst: 1}},
		{name: "negative rate", cfg: Config{Rate: -1, Burst: 1}},
		{name: "zero burst", cfg: Config{Rate: 1, Burst: 0}},
		{name: "negative max clients", cfg: Config{Rate: 1, Burst: 1, MaxClients: -1}},
		{name: "negative idle timeout", cfg: Config{Rate: 1, Burst: 1, IdleTimeout: -time.Second}},
		{name: "infinite rate needs no burst", cfg: Config{Rate: rate.Inf}, ok: true},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: New error = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestDefaultIdleTimeoutIsTheRefillTime(t *testing.T) {
	tests := []struct {
		name  string
		rate  rate.Limit
		burst int
		want  time.Duration
	}{
		{name: "10 per minute, burst 5", rate: rate.Every(6 * time.Second), burst: 5, want: 30 * time.Second},
		{name: "fast refill floors at 1s", rate: 1000, burst: 1, want: time.Second},
		{name: "tiny rate does not overflow", rate: 1e-300, burst: 1, want: time.Duration(1<<63 - 1)},
	}
	for _, tc := range tests {
		l := mustNew(t, Config{Rate: tc.rate, Burst: tc.burst})
		if got := l.idle; got != tc.want {
			t.Errorf("%s: idle = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l := mustNew(b, Config{Rate: 1e9, Burst: 1 << 30})
	r := request("203.0.113.7:1000")
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(r)
	}
}
