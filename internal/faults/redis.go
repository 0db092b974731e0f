package faults

import (
	"net/url"
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// TestRedis is the Redis a fault test puts its proxies in front of: the real one of
// BFF_TEST_REDIS_URL when set (CI), else a miniredis whose clock follows real time (so
// leases expire as on Redis). It returns the server's address and a function giving the
// Redis URL (database, credentials kept) with another host:port, a proxy's.
func TestRedis(t testing.TB) (addr string, via func(hostPort string) string) {
	t.Helper()
	raw := os.Getenv("BFF_TEST_REDIS_URL")
	if raw == "" {
		mr := miniredis.RunT(t)
		t.Cleanup(FollowRealTime(mr))
		raw = "redis://" + mr.Addr() + "/0"
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("faults: BFF_TEST_REDIS_URL: %v", err)
	}
	return u.Host, func(hostPort string) string {
		v := *u
		v.Host = hostPort
		return v.String()
	}
}

// NewTestProxy is NewProxy to target, closed at the end of the test.
func NewTestProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
