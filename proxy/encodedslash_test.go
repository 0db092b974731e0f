package proxy

import (
	"net/http"
	"testing"
)

// TestEncodedSlashesPassOnlyWhereOptedIn drives real requests, written byte for byte,
// through the BFF to httptest upstreams. /api/ opted in (passEncodedSlashes) for a
// GitLab-style API under /v4; /api/admin/ and /other/ did not. An encoded slash reaches
// /api/'s upstream exactly as sent (RequestURI, %2F and %2f intact, prefix stripped on the
// escaped path), and every trick that uses %2F (or its kin) to climb out of /api/ or
// into another route is refused before any upstream sees it.
func TestEncodedSlashesPassOnlyWhereOptedIn(t *testing.T) {
	api, admin, other, files := newUpstream(t, nil), newUpstream(t, nil), newUpstream(t, nil), newUpstream(t, nil)
	optIn := func(r *Route) { r.PassEncodedSlashes = true }
	f := newFixture(t, []Route{
		cfgRoute("/api/", api.URL+"/v4", optIn),
		cfgRoute("/api/admin/", admin.URL),
		cfgRoute("/other/", other.URL),
		cfgRoute("/files/", files.URL, optIn, func(r *Route) { r.StripPrefix = "" }),
	})
	addr := f.front.Listener.Addr().String()
	tests := []struct {
		name     string
		target   string
		upstream *upstream // nil: refused (400, or the SPA's 404)
		wantURI  string
	}{
		{name: "gitlab project path", target: "/api/projects/group%2Fproject", upstream: api, wantURI: "/v4/projects/group%2Fproject"},
		{name: "lower-case escape kept as sent", target: "/api/projects/group%2fproject", upstream: api, wantURI: "/v4/projects/group%2fproject"},
		{name: "object-store key", target: "/api/buckets/b/objects/a%2Fb%2Fc.txt?x=1", upstream: api, wantURI: "/v4/buckets/b/objects/a%2Fb%2Fc.txt?x=1"},
		{name: "other escapes beside it", target: "/api/x/a%20b%2Fc", upstream: api, wantURI: "/v4/x/a%20b%2Fc"},
		{name: "trailing encoded slash", target: "/api/tree/dir%2F", upstream: api, wantURI: "/v4/tree/dir%2F"},
		{name: "route without strip prefix", target: "/files/a%2Fb", upstream: files, wantURI: "/files/a%2Fb"},
		{name: "plain path still routed", target: "/api/projects/1", upstream: api, wantURI: "/v4/projects/1"},

		{name: "encoded slash escaping the prefix", target: "/api%2F..%2Fadmin"},
		{name: "encoded slash escaping into another route", target: "/api%2F..%2Fother/x"},
		{name: "dot-dot then encoded slash", target: "/api/..%2Fother/x"},
		{name: "encoded dot-dot then encoded slash", target: "/api/%2e%2e%2Fother/x"},
		{name: "climbing two levels", target: "/api/a%2F..%2F..%2Fother/x"},
		{name: "encoded dot segment", target: "/api/a%2F.%2Fb"},
		{name: "encoded double slash", target: "/api/a%2F%2Fb"},
		{name: "encoded slash at a segment start", target: "/api/%2Fetc/passwd"},
		{name: "encoded backslash", target: "/api/a%5Cb"},
		{name: "encoded backslash dot-dot", target: "/api/a%5c..%5cother"},
		{name: "double-encoded slash", target: "/api/a%252F..%252Fother"},
		{name: "encoded slash into a longer route of another upstream", target: "/api/admin%2Fusers"},
		{name: "encoded slash inside the prefix", target: "/api%2Fprojects"},
		{name: "route without the option", target: "/other/a%2Fb"},
		{name: "tomcat path parameter", target: "/api/..;%2Fother"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[*upstream]int32{api: api.hits.Load(), admin: admin.hits.Load(), other: other.hits.Load(), files: files.hits.Load()}
			status, body := raw(t, addr, tt.target)
			if tt.upstream == nil {
				if status != http.StatusBadRequest && status != http.StatusNotFound {
					t.Fatalf("GET %s = %d %q, want 400 or the SPA's 404", tt.target, status, body)
				}
				for u, n := range before {
					if u.hits.Load() != n {
						t.Fatalf("GET %s reached an upstream (%s)", tt.target, u.URL)
					}
				}
				return
			}
			if status != http.StatusOK {
				t.Fatalf("GET %s = %d %q, want 200", tt.target, status, body)
			}
			for u, n := range before {
				if u != tt.upstream && u.hits.Load() != n {
					t.Fatalf("GET %s reached the wrong upstream (%s)", tt.target, u.URL)
				}
			}
			if got := tt.upstream.last(t).RequestURI; got != tt.wantURI {
				t.Fatalf("upstream saw %q, want %q", got, tt.wantURI)
			}
		})
	}
}

// TestEncodedSlashesRefusedByDefault: without the option, an encoded slash on a route
// gets 400 as before, and its upstream sees nothing.
func TestEncodedSlashesRefusedByDefault(t *testing.T) {
	api := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", api.URL)})
	if status, body := raw(t, f.front.Listener.Addr().String(), "/api/projects/group%2Fproject"); status != http.StatusBadRequest {
		t.Fatalf("status %d %q, want 400", status, body)
	}
	if api.hits.Load() != 0 {
		t.Fatal("upstream was reached")
	}
}
