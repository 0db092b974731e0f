package proxy

import (
	"net/http"
	"testing"

	"github.com/tokenward/bff/clientip"
)

func trustProxies(t *testing.T, list ...string) func(*Options) {
	t.Helper()
	tr, err := clientip.ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *Options) { o.TrustedProxies = tr }
}

// TestClientIPChainFromTrustedProxyReachesUpstream: behind an ingress (a peer in
// server.trustedProxies) the upstream gets the client's X-Forwarded-For chain with the
// ingress appended, and the ingress's X-Forwarded-Proto/-Host; a Forwarded header is
// dropped even from the ingress. The test client connects from 127.0.0.1, so trusting
// loopback (in either spelling) makes it the ingress.
func TestClientIPChainFromTrustedProxyReachesUpstream(t *testing.T) {
	for _, entry := range []string{"127.0.0.0/8", "::ffff:127.0.0.1"} {
		t.Run(entry, func(t *testing.T) {
			up := newUpstream(t, nil)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL)}, trustProxies(t, entry))
			h := withSession()
			h["X-Forwarded-For"] = []string{"203.0.113.7, 10.1.1.1", "10.2.2.2"}
			h.Set("X-Forwarded-Host", "shop.example")
			h.Set("X-Forwarded-Proto", "https")
			h.Set("Forwarded", "for=198.51.100.1;host=evil.example")
			f.do(t, http.MethodGet, "/api/me", h, nil)
			got := up.last(t)
			want := map[string]string{
				"X-Forwarded-For":   "203.0.113.7, 10.1.1.1, 10.2.2.2, 127.0.0.1",
				"X-Forwarded-Host":  "shop.example",
				"X-Forwarded-Proto": "https",
			}
			for k, v := range want {
				if vs := got.Header.Values(k); len(vs) != 1 || vs[0] != v {
					t.Errorf("upstream saw %s %q, want %q", k, vs, v)
				}
			}
			if v := got.Header.Values("Forwarded"); len(v) != 0 {
				t.Errorf("upstream saw Forwarded %q", v)
			}
		})
	}
}

// TestTrustedProxyWithoutForwardedHeadersGetsThePublicView: an ingress that sends no
// X-Forwarded-* leaves the BFF's own values: the peer and the public URL.
func TestTrustedProxyWithoutForwardedHeadersGetsThePublicView(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)}, trustProxies(t, "127.0.0.1"))
	f.do(t, http.MethodGet, "/api/me", withSession(), nil)
	got := up.last(t)
	for k, v := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Proto": "https"} {
		if vs := got.Header.Values(k); len(vs) != 1 || vs[0] != v {
			t.Errorf("upstream saw %s %q, want %q", k, vs, v)
		}
	}
}

// TestSpoofedClientIPFromUntrustedPeerIsDropped: a peer that is not a trusted proxy (a
// browser) cannot make the upstream believe another client IP, host or scheme, not even
// when some other proxy is trusted: the upstream sees only the peer.
func TestSpoofedClientIPFromUntrustedPeerIsDropped(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)}, trustProxies(t, "10.0.0.0/8", "::ffff:192.0.2.0/120"))
	h := withSession()
	h.Set("X-Forwarded-For", "10.0.0.1")
	h.Set("X-Forwarded-Host", "evil.example")
	h.Set("X-Forwarded-Proto", "http")
	h.Set("Forwarded", "for=10.0.0.1")
	f.do(t, http.MethodGet, "/api/me", h, nil)
	got := up.last(t)
	for k, v := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "app.example.com", "X-Forwarded-Proto": "https"} {
		if vs := got.Header.Values(k); len(vs) != 1 || vs[0] != v {
			t.Errorf("upstream saw %s %q, want %q", k, vs, v)
		}
	}
	if v := got.Header.Values("Forwarded"); len(v) != 0 {
		t.Errorf("upstream saw Forwarded %q", v)
	}
}

// TestTrustedProxyCannotForwardAHopByHopChain: an X-Forwarded-For the sender listed in
// Connection is hop-by-hop and ends at the BFF.
func TestTrustedProxyCannotForwardAHopByHopChain(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)}, trustProxies(t, "127.0.0.1"))
	h := withSession()
	h.Set("X-Forwarded-For", "203.0.113.7")
	h.Set("Connection", "X-Forwarded-For")
	f.do(t, http.MethodGet, "/api/me", h, nil)
	if vs := up.last(t).Header.Values("X-Forwarded-For"); len(vs) != 1 || vs[0] != "127.0.0.1" {
		t.Fatalf("upstream saw X-Forwarded-For %q, want only the peer", vs)
	}
}
