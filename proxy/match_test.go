package proxy

import (
	"bufio"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/tokenward/bff/credential"
)

// attackPaths are request targets that try to leave a route's prefix or smuggle a
// different path to an upstream. Each must reach no upstream (400 or the SPA).
var attackPaths = []string{
	"/api/../admin/x",
	"/api/../admin",
	"/api/%2e%2e/admin/x",
	"/api/%2E%2E/admin/x",
	"/api/.%2e/admin/x",
	"/api/%2e./admin/x",
	"/api%2f..%2fadmin/x",
	"/api%2F..%2Fadmin/x",
	"//api/x",
	"//admin/x",
	"/api//x",
	"/api/%2F/x",
	"/api/%2f/x",
	"/api/x%2f..%2f..%2fadmin",
	"/API/x",
	"/API/../admin/x",
	"/api/./x",
	"/api/x/.",
	"/api/x/..",
	"/api/%2e/x",
	`/api\..\admin`,
	`/api\..\admin\x`,
	"/api/%5c..%5cadmin/x",
	"/api/%5C..%5Cadmin/x",
	"/api/..;/admin/x",
	"/api/.;x/admin",
	"/api/%252e%252e/admin/x",
	"/api/%252f..%252fadmin",
	"/api/%255c..%255cadmin",
	"/api/x%00",
	"/api/x%0d%0aHost:%20admin",
	"/api/x%09",
	"/static/../admin/x",
	"/%2e%2e/admin/x",
	"/api/%c0%ae%c0%ae/admin/x",
}

func matchTable(t testing.TB) *Proxy {
	t.Helper()
	p, err := New(Options{
		Routes: []Route{
			{Name: "api", Path: "/api/", Upstream: "http://api.internal", StripPrefix: "/api"},
			{Name: "api-admin", Path: "/api/admin/", Upstream: "http://api-admin.internal"},
			{Name: "admin", Path: "/admin/", Upstream: "http://admin.internal", Auth: "none"},
		},
		PublicURL: mustParse(t, publicURL),
		Credentials: sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{}, credential.ErrNoSession
		}),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// parseTarget parses a request target the way the server does.
func parseTarget(target string) (*http.Request, error) {
	return http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: app.example.com\r\n\r\n")))
}

// matched names Match's verdict: a route name, "bad" (400) or "" (not ours).
func matched(p *Proxy, r *http.Request) string {
	h, ok := p.Match(r)
	switch {
	case !ok:
		return ""
	case h == badPath{}:
		return "bad"
	}
	return h.(*route).name
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{name: "route prefix", target: "/api/users", want: "api"},
		{name: "route root", target: "/api/", want: "api"},
		{name: "query ignored", target: "/api/users?next=/admin/x", want: "api"},
		{name: "longest prefix wins", target: "/api/admin/users", want: "api-admin"},
		{name: "prefix needs the slash boundary", target: "/api/administrator", want: "api"},
		{name: "other route", target: "/admin/x", want: "admin"},
		{name: "encoded ordinary characters", target: "/api/a%20b/c%3Fd", want: "api"},
		{name: "trailing slash", target: "/api/users/", want: "api"},
		{name: "dots inside a segment are fine", target: "/api/v1.2/file..txt", want: "api"},
		{name: "prefix without its slash is the SPA's", target: "/api", want: ""},
		{name: "root is the SPA's", target: "/", want: ""},
		{name: "unrelated path is the SPA's", target: "/index.html", want: ""},
		{name: "similar prefix is the SPA's", target: "/apix/y", want: ""},
		{name: "case differs: not a route", target: "/API/x", want: ""},
		{name: "encoded prefix letter is not the route", target: "/ap%69/x", want: ""},
		{name: "unclean path aimed at nothing is the SPA's", target: "/static/../index.html", want: ""},
		{name: "dot-dot escape", target: "/api/../admin/x", want: "bad"},
		{name: "encoded dot-dot escape", target: "/api/%2e%2e/admin/x", want: "bad"},
		{name: "upper-case encoded dot-dot escape", target: "/api/%2E%2E/admin/x", want: "bad"},
		{name: "encoded slash escape", target: "/api%2f..%2fadmin", want: "bad"},
		{name: "encoded slash in segment", target: "/api/%2F/x", want: "bad"},
		{name: "double slash", target: "//api/x", want: "bad"},
		{name: "inner double slash", target: "/api//x", want: "bad"},
		{name: "dot segment", target: "/api/./x", want: "bad"},
		{name: "raw backslash escape", target: `/api\..\admin`, want: "bad"},
		{name: "encoded backslash escape", target: "/api/%5c..%5cadmin/x", want: "bad"},
		{name: "tomcat path parameter escape", target: "/api/..;/admin/x", want: "bad"},
		{name: "double-encoded dot-dot escape", target: "/api/%252e%252e/admin/x", want: "bad"},
		{name: "NUL byte", target: "/api/x%00", want: "bad"},
		{name: "CRLF injection", target: "/api/x%0d%0aHost:%20admin", want: "bad"},
		{name: "unclean path resolving into a route", target: "/static/../api/x", want: "bad"},
		{name: "upper-case unclean path", target: "/API/../admin/x", want: "bad"},
	}
	p := matchTable(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseTarget(tt.target)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.target, err)
			}
			if got := matched(p, r); got != tt.want {
				t.Fatalf("Match(%q) = %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

// TestPathTraversalNeverReachesAnotherUpstream sends every attack path byte for byte to a
// real server in front of two upstreams: the admin upstream is never hit, and the api
// upstream only ever sees clean paths.
func TestPathTraversalNeverReachesAnotherUpstream(t *testing.T) {
	api := newUpstream(t, nil)
	admin := newUpstream(t, nil)
	f := newFixture(t, []Route{
		cfgRoute("/api/", api.URL),
		cfgRoute("/admin/", admin.URL, func(r *Route) { r.Auth = "none" }),
	})
	addr := f.front.Listener.Addr().String()
	for _, target := range attackPaths {
		t.Run(target, func(t *testing.T) {
			status, body := raw(t, addr, target)
			if status != http.StatusBadRequest && status != http.StatusNotFound {
				t.Fatalf("GET %q = %d %q, want 400 or the SPA's 404", target, status, body)
			}
		})
	}
	if n := admin.hits.Load(); n != 0 {
		t.Fatalf("admin upstream was hit %d times", n)
	}
	for _, s := range api.all() {
		if s.RequestURI != path.Clean(s.RequestURI) && s.RequestURI != path.Clean(s.RequestURI)+"/" {
			t.Errorf("api upstream saw unclean path %q", s.RequestURI)
		}
	}
	if status, _ := raw(t, addr, "/admin/x"); status != http.StatusOK || admin.hits.Load() != 1 {
		t.Fatalf("control request to /admin/x = %d, admin hits %d; want 200 and 1", status, admin.hits.Load())
	}
}

// FuzzMatchPath checks Match's property: a request is only ever routed to the route with
// the longest prefix its CLEANED path starts with, and only if the path was already
// clean (an encoded slash only on a route with passEncodedSlashes); what the route then
// sends goes to its own upstream, under that upstream's base path; Match never panics.
// It runs every input against two tables: the default one, and one whose routes opted
// in to encoded slashes.
func FuzzMatchPath(f *testing.F) {
	for _, target := range attackPaths {
		f.Add(target)
	}
	for _, target := range []string{"/api/x", "/api/admin/x", "/admin/", "/api/a%20b", "/",
		"/api/group%2Fproject", "/api/admin%2Fx", "/api%2F..%2Fadmin", "/api/..%2Fadmin", "/admin/a%2f%2e%2e"} {
		f.Add(target)
	}
	tables := []*Proxy{matchTable(f), encodedSlashTable(f)}
	prefixes := []string{"/api/", "/api/admin/", "/admin/"}
	sort.Slice(prefixes, func(i, j int) bool { return len(prefixes[i]) > len(prefixes[j]) })
	f.Fuzz(func(t *testing.T, target string) {
		for _, p := range tables {
			r, err := parseTarget(target)
			if err != nil {
				return
			}
			h, ok := p.Match(r)
			rt, routed := h.(*route)
			if !ok || !routed {
				if ok && h != (badPath{}) {
					t.Fatalf("Match(%q) returned an unknown handler %T", target, h)
				}
				continue
			}
			decoded, escaped := r.URL.Path, r.URL.EscapedPath()
			cleaned := path.Clean(decoded)
			if strings.HasSuffix(decoded, "/") && cleaned != "/" {
				cleaned += "/"
			}
			lower := strings.ToLower(escaped)
			if cleaned != decoded || strings.ContainsAny(decoded, "\\\x00") || strings.Contains(lower, "%5c") ||
				(strings.Contains(lower, "%2f") && !rt.passEncodedSlashes) {
				t.Fatalf("Match(%q) routed an unclean path (decoded %q, escaped %q) to %q", target, decoded, escaped, rt.name)
			}
			want := ""
			for _, pre := range prefixes {
				if strings.HasPrefix(cleaned, pre) {
					want = pre
					break
				}
			}
			if rt.prefix != want {
				t.Fatalf("Match(%q) routed to %q, but the cleaned path %q belongs to %q", target, rt.prefix, cleaned, want)
			}
			checkUpstreamRequest(t, target, rt, r)
		}
	})
}

// encodedSlashTable is matchTable with every route opted in to encoded slashes, and
// upstream base paths to stay under.
func encodedSlashTable(t testing.TB) *Proxy {
	t.Helper()
	p, err := New(Options{
		Routes: []Route{
			{Name: "api", Path: "/api/", Upstream: "http://api.internal/v4", StripPrefix: "/api", PassEncodedSlashes: true},
			{Name: "api-admin", Path: "/api/admin/", Upstream: "http://api-admin.internal/base/", PassEncodedSlashes: true},
			{Name: "admin", Path: "/admin/", Upstream: "http://admin.internal", Auth: "none", PassEncodedSlashes: true},
		},
		PublicURL: mustParse(t, publicURL),
		Credentials: sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{}, credential.ErrNoSession
		}),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// checkUpstreamRequest runs rt's Rewrite on r, as ReverseProxy would, and checks the
// outbound request goes to rt's upstream host, with a request path under the upstream's
// base path, both as sent (escaped) and as a decoding, cleaning upstream would read it.
func checkUpstreamRequest(t *testing.T, target string, rt *route, r *http.Request) {
	t.Helper()
	pr := &httputil.ProxyRequest{In: r, Out: r.Clone(r.Context())}
	rt.rewrite(pr)
	out := pr.Out.URL
	if out.Host != rt.upstream.Host || out.Scheme != rt.upstream.Scheme {
		t.Fatalf("Match(%q): route %q sent to %s://%s, not its upstream %s", target, rt.name, out.Scheme, out.Host, rt.upstream)
	}
	base := strings.TrimSuffix(rt.upstream.EscapedPath(), "/") + "/"
	sent := out.EscapedPath()
	if !strings.HasPrefix(sent+"/", base) {
		t.Fatalf("Match(%q): route %q sent path %q, outside its upstream base %q", target, rt.name, sent, base)
	}
	read := path.Clean(strings.ReplaceAll(out.Path, `\`, "/"))
	if d, err := url.PathUnescape(sent); err == nil {
		read = path.Clean(strings.ReplaceAll(d, `\`, "/"))
	}
	if !strings.HasPrefix(read+"/", base) {
		t.Fatalf("Match(%q): route %q sent path %q, which an upstream reads as %q, outside %q", target, rt.name, sent, read, base)
	}
}
