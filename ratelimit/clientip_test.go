package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/tokenward/bff/clientip"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func request(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/bff/login", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

// TestClientIPIsTheSharedRule: the limiter keys buckets by the one client-IP rule of
// package clientip (whose table and fuzz tests prove the rule itself): a spoofed
// X-Forwarded-For from an untrusted peer is ignored, a trusted proxy's chain is walked.
func TestClientIPIsTheSharedRule(t *testing.T) {
	trusted := prefixes(t, "10.0.0.0/8", "::ffff:192.0.2.0/120")
	for _, r := range []*http.Request{
		request("203.0.113.7:51000", "198.51.100.1"),
		request("10.0.0.2:80", "198.51.100.1, 203.0.113.7"),
		request("[::ffff:192.0.2.9]:80", "203.0.113.8"),
	} {
		want := clientip.FromPrefixes(trusted).ClientIP(r)
		if got := ClientIP(r, trusted); got != want || !got.IsValid() {
			t.Errorf("ClientIP(%s, %q) = %v, want clientip's %v", r.RemoteAddr, r.Header.Get("X-Forwarded-For"), got, want)
		}
	}
}

func TestBucketKeyGroupsIPv6By64(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{name: "same /64", a: "2001:db8:1:2::1", b: "2001:db8:1:2:ffff:ffff:ffff:ffff", same: true},
		{name: "neighbouring /64", a: "2001:db8:1:2::1", b: "2001:db8:1:3::1", same: false},
		{name: "IPv4 addresses stand alone", a: "203.0.113.7", b: "203.0.113.8", same: false},
	}
	for _, tc := range tests {
		ka, kb := bucketKey(netip.MustParseAddr(tc.a)), bucketKey(netip.MustParseAddr(tc.b))
		if (ka == kb) != tc.same {
			t.Errorf("%s: keys %v and %v, same=%v, want %v", tc.name, ka, kb, ka == kb, tc.same)
		}
	}
}

// FuzzClientIP lives in package clientip, which ratelimit.ClientIP delegates to.
