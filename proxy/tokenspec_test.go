package proxy

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tokenward/bff/credential"
)

// TestRouteTokenSpecReachesTheSource: a route's token spec is what its requests' credential
// source sees (credential.TokenSpecFrom), on the first attempt and on the retry after a
// 401; a route without one passes none.
func TestRouteTokenSpecReachesTheSource(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer t1" && strings.HasPrefix(r.URL.Path, "/orders") {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	spec := &credential.TokenSpec{Resource: "https://orders.example/"}
	var mu sync.Mutex
	var seen []*credential.TokenSpec
	f := newFixture(t, []Route{
		cfgRoute("/orders/", up.URL, func(r *Route) { r.StripPrefix, r.Token = "", spec }),
		cfgRoute("/api/", up.URL),
	}, func(o *Options) {
		o.Credentials = sourceOf(func(r *http.Request, force bool) (credential.Session, error) {
			mu.Lock()
			seen = append(seen, credential.TokenSpecFrom(r.Context()))
			mu.Unlock()
			tok := "t1"
			if force {
				tok = "t2"
			}
			return bearerSession(tok), nil
		})
	})
	if resp, _ := f.do(t, http.MethodGet, "/orders/1", withSession(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("orders: %d", resp.StatusCode)
	}
	if resp, _ := f.do(t, http.MethodGet, "/api/1", withSession(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("api: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0] != spec || seen[1] != spec || seen[2] != nil {
		t.Fatalf("the sources saw %v; want the route's spec twice (first attempt, forced retry), then none", seen)
	}
}

// TestTokenSpecNeedsACredential: a route asking for its own token with auth none is refused.
func TestTokenSpecNeedsACredential(t *testing.T) {
	_, err := New(Options{PublicURL: mustParse(t, publicURL), Routes: []Route{cfgRoute("/a/", "http://127.0.0.1:1", func(r *Route) {
		r.Auth, r.Token = AuthNone, &credential.TokenSpec{Resource: "urn:a"}
	})}})
	if err == nil || !strings.Contains(err.Error(), "auth none") {
		t.Fatalf("New: %v; want the token spec refused with auth none", err)
	}
}
