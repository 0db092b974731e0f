package proxy

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokenward/bff/credential"
)

func TestNewValidates(t *testing.T) {
	token := sourceOf(func(*http.Request, bool) (credential.Session, error) { return bearerSession("t"), nil })
	ok := Route{Path: "/api/", Upstream: "http://127.0.0.1:9000", StripPrefix: "/api"}
	with := func(mutate func(*Route)) []Route {
		r := ok
		mutate(&r)
		return []Route{r}
	}
	tests := []struct {
		name      string
		routes    []Route
		publicURL string
		noToken   bool
		wantErr   bool
	}{
		{name: "valid", routes: []Route{ok}},
		{name: "no routes", routes: nil},
		{name: "no token needed when every route is auth none", noToken: true,
			routes: with(func(r *Route) { r.Auth = "none" })},
		{name: "missing public URL", routes: []Route{ok}, publicURL: "-", wantErr: true},
		{name: "relative public URL", routes: []Route{ok}, publicURL: "/app", wantErr: true},
		{name: "missing token function", routes: []Route{ok}, noToken: true, wantErr: true},
		{name: "upstream not http", routes: with(func(r *Route) { r.Upstream = "ftp://x" }), wantErr: true},
		{name: "upstream relative", routes: with(func(r *Route) { r.Upstream = "/x" }), wantErr: true},
		{name: "upstream with credentials", routes: with(func(r *Route) { r.Upstream = "http://u:p@x" }), wantErr: true},
		{name: "path without trailing slash", routes: with(func(r *Route) { r.Path = "/api" }), wantErr: true},
		{name: "path with dot segment", routes: with(func(r *Route) { r.Path = "/api/../x/" }), wantErr: true},
		{name: "path needing escapes", routes: with(func(r *Route) { r.Path = "/a b/"; r.StripPrefix = "" }), wantErr: true},
		{name: "path with percent", routes: with(func(r *Route) { r.Path = "/a%41/"; r.StripPrefix = "" }), wantErr: true},
		{name: "strip prefix not a prefix", routes: with(func(r *Route) { r.StripPrefix = "/other" }), wantErr: true},
		{name: "unknown auth", routes: with(func(r *Route) { r.Auth = "sometimes" }), wantErr: true},
		{name: "negative timeout", routes: with(func(r *Route) { r.Timeout = -time.Second }), wantErr: true},
		{name: "duplicate path", routes: []Route{ok, ok}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Routes: tt.routes, Credentials: token}
			switch tt.publicURL {
			case "":
				opts.PublicURL, _ = url.Parse(publicURL)
			case "-":
			default:
				opts.PublicURL, _ = url.Parse(tt.publicURL)
			}
			if tt.noToken {
				opts.Credentials = nil
			}
			p, err := New(opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				p.CloseAll()
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	p, err := New(Options{
		Routes:      []Route{{Path: "/api/", Upstream: "http://127.0.0.1:9000"}},
		PublicURL:   mustParse(t, publicURL),
		Credentials: sourceOf(func(*http.Request, bool) (credential.Session, error) { return bearerSession("t"), nil }),
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := p.routes[0]
	// The zero Route: named by its path, a session required, the default timeout, and no
	// retry and no body bound unless asked (config's defaults set both: config tests).
	if rt.name != "/api/" || rt.auth != AuthRequired || rt.retry || rt.maxBody != 0 || rt.timeout != DefaultTimeout {
		t.Fatalf("defaults: name %q auth %q retry %v timeout %v", rt.name, rt.auth, rt.retry, rt.timeout)
	}
	if p.log == nil {
		t.Fatal("no default logger")
	}
	tr := p.owned[0]
	if tr.MaxIdleConnsPerHost < 64 || tr.Proxy != nil || tr.DisableKeepAlives {
		t.Fatalf("upstream transport not tuned: %+v", tr)
	}
}
