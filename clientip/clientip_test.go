package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func request(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func mustParse(t testing.TB, list ...string) Trusted {
	t.Helper()
	tr, err := ParsePrefixes(list)
	if err != nil {
		t.Fatalf("ParsePrefixes(%q): %v", list, err)
	}
	return tr
}

// TestIsTrustedUnmapsBothSides: a dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d;
// an operator may write either form. Every pairing must agree, or the forward-auth
// endpoint, the rate limit and the proxy would trust different peers.
func TestIsTrustedUnmapsBothSides(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		peer    string
		want    bool
	}{
		{name: "mapped peer, IPv4 prefix", entries: []string{"10.0.0.0/8"}, peer: "::ffff:10.0.0.1", want: true},
		{name: "IPv4 peer, mapped prefix", entries: []string{"::ffff:10.0.0.0/104"}, peer: "10.0.0.1", want: true},
		{name: "mapped peer, mapped prefix", entries: []string{"::ffff:10.0.0.0/104"}, peer: "::ffff:10.0.0.1", want: true},
		{name: "IPv4 peer, IPv4 prefix", entries: []string{"10.0.0.0/8"}, peer: "10.0.0.1", want: true},
		{name: "mapped single address entry, IPv4 peer", entries: []string{"::ffff:10.0.0.1"}, peer: "10.0.0.1", want: true},
		{name: "IPv4 single address entry, mapped peer", entries: []string{"10.0.0.1"}, peer: "::ffff:10.0.0.1", want: true},
		{name: "mapped peer outside the prefix", entries: []string{"10.0.0.0/8"}, peer: "::ffff:11.0.0.1", want: false},
		{name: "IPv4 peer outside a mapped prefix", entries: []string{"::ffff:10.0.0.0/104"}, peer: "11.0.0.1", want: false},
		{name: "unmasked prefix is masked", entries: []string{"10.1.2.3/8"}, peer: "10.200.0.1", want: true},
		{name: "IPv6 prefix", entries: []string{"fd00::/8"}, peer: "fd00::1", want: true},
		{name: "IPv6 peer with a zone", entries: []string{"fe80::/10"}, peer: "fe80::1%eth0", want: true},
		{name: "IPv4 prefix does not cover IPv6", entries: []string{"0.0.0.0/0"}, peer: "2001:db8::1", want: false},
		{name: "nobody trusted", peer: "10.0.0.1", want: false},
		{name: "spaces around entries", entries: []string{" 10.0.0.0/8 "}, peer: "10.0.0.1", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustParse(t, tc.entries...)
			if got := tr.IsTrusted(netip.MustParseAddr(tc.peer)); got != tc.want {
				t.Fatalf("IsTrusted(%s) with %q = %v, want %v", tc.peer, tc.entries, got, tc.want)
			}
			// The same through a request's RemoteAddr, as a listener reports it.
			r := request(netip.AddrPortFrom(netip.MustParseAddr(tc.peer), 443).String())
			if got := tr.IsTrustedPeer(r); got != tc.want {
				t.Fatalf("IsTrustedPeer(%s) with %q = %v, want %v", r.RemoteAddr, tc.entries, got, tc.want)
			}
			// FromPrefixes (unparsed prefixes handed over by code) agrees with ParsePrefixes.
			var raw []netip.Prefix
			for _, e := range tc.entries {
				e = strings.TrimSpace(e)
				if p, err := netip.ParsePrefix(e); err == nil {
					raw = append(raw, p)
				} else {
					a := netip.MustParseAddr(e)
					raw = append(raw, netip.PrefixFrom(a, a.BitLen()))
				}
			}
			if got := FromPrefixes(raw).IsTrusted(netip.MustParseAddr(tc.peer)); got != tc.want {
				t.Fatalf("FromPrefixes(%v).IsTrusted(%s) = %v, want %v", raw, tc.peer, got, tc.want)
			}
		})
	}
}

func TestParsePrefixesRefusesNonAddresses(t *testing.T) {
	for _, s := range []string{"", "proxy.internal", "10.0.0.0/33", "10.0.0.1/8/1", "010.0.0.1"} {
		if _, err := ParsePrefixes([]string{s}); err == nil {
			t.Errorf("ParsePrefixes(%q) accepted it", s)
		}
	}
}

func TestUnparsablePeerIsNeverTrusted(t *testing.T) {
	tr := mustParse(t, "0.0.0.0/0", "::/0")
	for _, remote := range []string{"@", "", "unix:/run/bff.sock", "[::1"} {
		if tr.IsTrustedPeer(request(remote)) {
			t.Errorf("peer %q trusted", remote)
		}
	}
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
		{name: "one trusted proxy", remote: "10.0.0.2:80",
			xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "left-most spoofed entry is not believed", remote: "10.0.0.2:80",
			xff: []string{"198.51.100.1, 203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "chain of trusted proxies is skipped right to left", remote: "10.0.0.3:80",
			xff: []string{"198.51.100.1, 203.0.113.7, 10.1.1.1", "10.2.2.2"}, trusted: proxies, want: "203.0.113.7"},
		{name: "all hops trusted gives the left-most", remote: "10.0.0.3:80",
			xff: []string{"10.9.9.9, 10.1.1.1"}, trusted: proxies, want: "10.9.9.9"},
		{name: "malformed entry gives the hop that wrote it", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7, unknown"}, trusted: proxies, want: "10.0.0.3"},
		{name: "mapped peer trusted by an IPv4 entry", remote: "[::ffff:10.0.0.3]:80",
			xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "mapped hop skipped by an IPv4 entry", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7, ::ffff:10.1.1.1"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4 hop skipped by a mapped entry", remote: "10.0.0.3:80",
			xff: []string{"203.0.113.7, 10.1.1.1"}, trusted: []string{"::ffff:10.0.0.0/104"}, want: "203.0.113.7"},
		{name: "bracketed IPv6 entry with port", remote: "[fd00::1]:443",
			xff: []string{"[2001:db8::1]:443"}, trusted: proxies, want: "2001:db8::1"},
		{name: "remote address that is not an IP", remote: "@", trusted: proxies, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustParse(t, tc.trusted...).ClientIP(request(tc.remote, tc.xff...))
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

// TestClientIPWalkIsBounded: thousands of trusted hops are not all walked.
func TestClientIPWalkIsBounded(t *testing.T) {
	xff := "203.0.113.7" + strings.Repeat(", 10.1.1.1", 1000)
	got := mustParse(t, "10.0.0.0/8").ClientIP(request("10.0.0.3:80", xff))
	if got != netip.MustParseAddr("10.1.1.1") {
		t.Fatalf("ClientIP = %v, want the last trusted hop walked", got)
	}
}

// FuzzClientIP: whatever X-Forwarded-For says, an untrusted peer is its own client, and
// from a trusted peer the answer is the peer or an address that appears in the header.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "203.0.113.7", "1.1.1.1, 10.0.0.1", "unknown, 10.0.0.9",
		"[::1]:80", "::ffff:10.0.0.1", ",,,", "1.2.3.4:99999", "fe80::1%eth0"} {
		f.Add(s)
	}
	trusted := mustParse(f, "10.0.0.0/8")
	f.Fuzz(func(t *testing.T, xff string) {
		if got := trusted.ClientIP(request("203.0.113.9:1", xff)); got != netip.MustParseAddr("203.0.113.9") {
			t.Fatalf("untrusted peer: ClientIP = %v", got)
		}
		got := trusted.ClientIP(request("10.0.0.1:1", xff))
		if got == netip.MustParseAddr("10.0.0.1") {
			return
		}
		for rest := xff; rest != ""; {
			var elem string
			rest, elem = splitLast(rest)
			if a, ok := parseForwardedFor(elem); ok && a == got {
				return
			}
		}
		t.Fatalf("ClientIP = %v, neither the peer nor an entry of %q", got, xff)
	})
}
