package proxy

import (
	"net/http"
	"testing"
)

func TestRewriteURL(t *testing.T) {
	up := newUpstream(t, nil)
	tests := []struct {
		name    string
		route   Route
		target  string
		wantURI string
	}{
		{name: "prefix stripped, query kept",
			route: cfgRoute("/api/", up.URL), target: "/api/users?id=7&x=a%26b", wantURI: "/users?id=7&x=a%26b"},
		{name: "upstream base path joined",
			route: cfgRoute("/api/", up.URL+"/v1"), target: "/api/users", wantURI: "/v1/users"},
		{name: "upstream base path with slash joined",
			route: cfgRoute("/api/", up.URL+"/v1/"), target: "/api/users", wantURI: "/v1/users"},
		{name: "no strip prefix",
			route: cfgRoute("/api/", up.URL, func(r *Route) { r.StripPrefix = "" }), target: "/api/users", wantURI: "/api/users"},
		{name: "strip prefix equal to the path keeps a leading slash",
			route: cfgRoute("/api/", up.URL, func(r *Route) { r.StripPrefix = "/api/" }), target: "/api/users", wantURI: "/users"},
		{name: "route root becomes upstream root",
			route: cfgRoute("/api/", up.URL), target: "/api/", wantURI: "/"},
		{name: "escaped path stays escaped (RawPath kept consistent)",
			route: cfgRoute("/api/", up.URL), target: "/api/a%20b/c%3Fd", wantURI: "/a%20b/c%3Fd"},
		{name: "escaped path with base path",
			route: cfgRoute("/api/", up.URL+"/v1"), target: "/api/a%20b", wantURI: "/v1/a%20b"},
		{name: "unparsable query parameters dropped by ReverseProxy",
			route: cfgRoute("/api/", up.URL), target: "/api/x?a=1;b=2", wantURI: "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []Route{tt.route})
			resp, _ := f.do(t, http.MethodGet, tt.target, withSession(), nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := up.last(t)
			if got.RequestURI != tt.wantURI {
				t.Fatalf("upstream saw %q, want %q", got.RequestURI, tt.wantURI)
			}
			if got.Host != hostOf(t, up.URL) {
				t.Fatalf("upstream saw Host %q, want the upstream's %q", got.Host, hostOf(t, up.URL))
			}
		})
	}
}

// TestBrowserCredentialsNeverReachUpstream: the session cookie and any Authorization the
// browser sends stay at the BFF; the upstream sees only the injected bearer.
func TestBrowserCredentialsNeverReachUpstream(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	h := withSession()
	h.Set("Cookie", sessionCookie+"=sealed-session-id; theme=dark")
	h.Set("Authorization", "Bearer token-from-the-browser")
	f.do(t, http.MethodGet, "/api/me", h, nil)
	got := up.last(t)
	if c := got.Header.Values("Cookie"); len(c) != 0 {
		t.Fatalf("upstream saw Cookie %q", c)
	}
	if a := got.Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer t1" {
		t.Fatalf("upstream saw Authorization %q, want only the injected bearer", a)
	}
}

// TestConnectionHeaderCannotStripInjectedBearer: listing Authorization (or the forwarding
// headers) in Connection makes them hop-by-hop; with Director that removed the injected
// token, with Rewrite it must not.
func TestConnectionHeaderCannotStripInjectedBearer(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	h := withSession()
	h.Set("Connection", "Authorization, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-For")
	f.do(t, http.MethodGet, "/api/me", h, nil)
	got := up.last(t)
	want := map[string]string{
		"Authorization":     "Bearer t1",
		"X-Forwarded-Host":  "app.example.com",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-For":   "127.0.0.1",
	}
	for k, v := range want {
		if got.Header.Get(k) != v {
			t.Errorf("upstream saw %s %q, want %q", k, got.Header.Get(k), v)
		}
	}
}

// TestClientForwardedHeadersAreNotTrusted: a client posing as a proxy (X-Forwarded-*,
// Forwarded, X-Real-IP, URL overrides, also spelled with underscores) is ignored; the
// upstream sees the BFF's view only.
func TestClientForwardedHeadersAreNotTrusted(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	h := withSession()
	for k, v := range map[string]string{
		"X-Forwarded-For":    "1.2.3.4",
		"X-Forwarded-Host":   "evil.example",
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-Prefix": "/admin",
		"X-Forwarded-Port":   "1",
		"X-Forwarded-Uri":    "/admin",
		"X_Forwarded_For":    "1.2.3.4",
		"Forwarded":          "for=1.2.3.4;host=evil.example",
		"X-Real-Ip":          "1.2.3.4",
		"True-Client-Ip":     "1.2.3.4",
		"X-Original-Url":     "/admin",
		"X-Rewrite-Url":      "/admin",
	} {
		h[k] = []string{v}
	}
	f.do(t, http.MethodGet, "/api/me", h, nil)
	got := up.last(t)
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Host":  "app.example.com",
		"X-Forwarded-Proto": "https",
		"Authorization":     "Bearer t1",
	}
	for k := range got.Header {
		if _, ok := want[k]; ok {
			continue
		}
		if isClientForwardingHeader(k) {
			t.Errorf("upstream saw client header %s: %q", k, got.Header[k])
		}
	}
	for k, v := range want {
		if vs := got.Header.Values(k); len(vs) != 1 || vs[0] != v {
			t.Errorf("upstream saw %s %q, want %q", k, vs, v)
		}
	}
}

func TestIsClientForwardingHeader(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{name: "x-forwarded family", key: "X-Forwarded-Prefix", want: true},
		{name: "underscore spelling", key: "X_Forwarded_Host", want: true},
		{name: "lower case", key: "x-real-ip", want: true},
		{name: "authorization", key: "Authorization", want: true},
		{name: "cookie", key: "Cookie", want: true},
		{name: "prefix alone is not a header", key: "X-Forwarded", want: false},
		{name: "ordinary header", key: "Accept", want: false},
		{name: "csrf header passes", key: "X-Csrf", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isClientForwardingHeader(tt.key); got != tt.want {
				t.Fatalf("isClientForwardingHeader(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestTransportSharedPerUpstream(t *testing.T) {
	a, b := newUpstream(t, nil), newUpstream(t, nil)
	f := newFixture(t, []Route{
		cfgRoute("/a1/", a.URL),
		cfgRoute("/a2/", a.URL+"/v2"),
		cfgRoute("/b/", b.URL),
	})
	byPrefix := map[string]*route{}
	for _, rt := range f.p.routes {
		byPrefix[rt.prefix] = rt
	}
	if byPrefix["/a1/"].rp.Transport != byPrefix["/a2/"].rp.Transport {
		t.Error("routes of one upstream do not share a transport")
	}
	if byPrefix["/a1/"].rp.Transport == byPrefix["/b/"].rp.Transport {
		t.Error("routes of different upstreams share a transport")
	}
	if byPrefix["/a1/"].rp == byPrefix["/a2/"].rp {
		t.Error("two routes share one ReverseProxy")
	}
	if len(f.p.owned) != 2 {
		t.Errorf("New built %d transports, want 2", len(f.p.owned))
	}
}

// TestClientDPoPProofNeverReachesUpstream: a DPoP header the browser sends is dropped on
// every route, auth none included (a client's proof is never for the upstream behind the
// BFF); on a route with a credential the upstream sees only the BFF's own.
func TestClientDPoPProofNeverReachesUpstream(t *testing.T) {
	for _, auth := range []Auth{AuthRequired, AuthOptional, AuthNone} {
		t.Run(string(auth), func(t *testing.T) {
			up := newUpstream(t, nil)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) { r.Auth = auth })})
			h := http.Header{"DPoP": {"client.proof.jws"}, "Dpop": {"another"}}
			if auth != AuthNone {
				h = withSession()
				h.Set("DPoP", "client.proof.jws")
			}
			if resp, _ := f.do(t, http.MethodGet, "/api/me", h, nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := up.last(t).Header.Values("DPoP"); len(got) != 0 {
				t.Fatalf("upstream saw DPoP %q, want none (the fixture's credential is a bearer)", got)
			}
		})
	}
}
