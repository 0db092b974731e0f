package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
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

func TestClientIP(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "fd00::/8"}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []string
		want    string // "" for the zero Addr
	}{
		{name: "direct client", remote: "203.0.113.7:51000", want: "203.0.113.7", trusted: proxies},
		{name: "spoofed XFF from an untrusted peer is ignored", remote: "203.0.113.7:51000",
			xff: []string{"198.51.100.1"}, trusted: proxies, want: "203.0.113.7"},
		{name: "XFF ignored when no proxy is trusted", remote: "10.0.0.2:80",
			xff: []string{"198.51.100.1"}, want: "10.0.0.2"},
		{name: "one trusted proxy", remote: "10.0.0.2:80",
			xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "left-most spoofed entry is not believed", remote: "10.0.0.2:80",
			xff: []string{"198.51.100.1, 203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "chain of trusted proxies is skipped", remote: "10.0.0.3:80",
			xff: []string{"198.51.100.1, 203.0.113.7, 10.1.1.1, 10.2.2.2"}, trusted: proxies, want: "203.0.113.7"},
		{name: "several header lines read from the last", remote: "10.0.0.3:80",
			xff: []string{"198.51.100.1", "203.0.113.7, 10.1.1.1", "10.2.2.2"}, trusted: proxies, want: "203.0.113.7"},
		{name: "all hops trusted gives the left-most", remote: "10.0.0.3:80",
			xff: []string{"10.9.9.9, 10.1.1.1"}, trusted: proxies, want: "10.9.9.9"},
		{name: "empty XFF from a trusted peer gives the peer", remote: "10.0.0.3:80",
			xff: []string{""}, trusted: proxies, want: "10.0.0.3"},
		{name: "malformed right-most entry gives the proxy that wrote it", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7, unknown"}, trusted: proxies, want: "10.0.0.3"},
		{name: "malformed entry behind a trusted hop gives that hop", remote: "10.0.0.3:80",
			xff: []string{"198.51.100.1, not-an-ip, 10.1.1.1"}, trusted: proxies, want: "10.1.1.1"},
		{name: "octal-looking IPv4 is malformed", remote: "10.0.0.3:80",
			xff: []string{"010.0.0.1"}, trusted: proxies, want: "10.0.0.3"},
		{name: "empty elements and spaces are skipped", remote: "10.0.0.3:80",
			xff: []string{" 203.0.113.7 ,, "}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4 entry with port", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7:4711"}, trusted: proxies, want: "203.0.113.7"},
		{name: "bracketed IPv6 entry with port", remote: "10.0.0.3:80",
			xff: []string{"[2001:db8::1]:443"}, trusted: proxies, want: "2001:db8::1"},
		{name: "bracketed IPv6 entry without port", remote: "10.0.0.3:80",
			xff: []string{"[2001:db8::1]"}, trusted: proxies, want: "2001:db8::1"},
		{name: "IPv4-mapped IPv6 peer matches an IPv4 trusted prefix", remote: "[::ffff:10.0.0.3]:80",
			xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4-mapped IPv6 entry is unmapped", remote: "10.0.0.3:80",
			xff: []string{"::ffff:203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4-mapped trusted hop is skipped", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7, ::ffff:10.1.1.1"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4-mapped trusted prefix matches IPv4 peer", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7"}, trusted: []string{"::ffff:10.0.0.0/104"}, want: "203.0.113.7"},
		{name: "IPv6 proxy chain", remote: "[fd00::1]:443",
			xff: []string{"2001:db8:1::5, fd00::2"}, trusted: proxies, want: "2001:db8:1::5"},
		{name: "zone is dropped", remote: "[fe80::1%eth0]:80", want: "fe80::1"},
		{name: "remote address without port", remote: "203.0.113.7", want: "203.0.113.7"},
		{name: "remote address that is not an IP", remote: "@", trusted: proxies, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ClientIP(request(tc.remote, tc.xff...), prefixes(t, tc.trusted...))
			var want netip.Addr
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got != want {
				t.Fatalf("ClientIP = %v, want %v", got, want)
			}
		})
	}
}

// TestClientIPWalkIsBounded: a trusted network sending thousands of trusted hops does
// not make ClientIP walk them all.
func TestClientIPWalkIsBounded(t *testing.T) {
	xff := "203.0.113.7"
	for range 1000 {
		xff += ", 10.1.1.1"
	}
	got := ClientIP(request("10.0.0.3:80", xff), prefixes(t, "10.0.0.0/8"))
	if got != netip.MustParseAddr("10.1.1.1") {
		t.Fatalf("ClientIP = %v, want the last trusted hop walked", got)
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
