package bff

import (
	"reflect"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/proxy"
)

func TestProxyRoutesCarryEveryKey(t *testing.T) {
	no, zero := false, 0
	for _, tt := range []struct {
		name string
		in   config.Route
		want proxy.Route
	}{
		{"config's defaults for a bare route",
			config.Route{Path: "/api/", Upstream: "https://api"},
			proxy.Route{Name: "/api/", Path: "/api/", Upstream: "https://api", Auth: proxy.AuthRequired,
				Timeout: 30 * time.Second, UploadIdleTimeout: 30 * time.Second, RetryOn401: true, MaxRequestBody: 10 << 20}},
		{"explicit off values stay off",
			config.Route{Name: "files", Path: "/files/", Upstream: "https://f", StripPrefix: "/files", Auth: "optional",
				Timeout: time.Second, UploadIdleTimeout: 2 * time.Second, Methods: []string{"GET"}, RetryOn401: &no, MaxRequestBody: &zero, PassEncodedSlashes: true,
				IdentityHeaders: config.IdentityHeaders{User: "X-User", Email: "X-Email", PreferredUsername: "X-Name"}},
			proxy.Route{Name: "files", Path: "/files/", Upstream: "https://f", StripPrefix: "/files", Auth: proxy.AuthOptional,
				Timeout: time.Second, UploadIdleTimeout: 2 * time.Second, Methods: []string{"GET"}, RetryOn401: false, MaxRequestBody: 0, PassEncodedSlashes: true,
				IdentityHeaders: proxy.IdentityHeaders{User: "X-User", Email: "X-Email", PreferredUsername: "X-Name"}}},
		{"a resource and its scopes become the route's token spec",
			config.Route{Path: "/a/", Upstream: "https://a", Resource: "https://a.example/", Scopes: []string{"r", "w"}},
			proxy.Route{Name: "/a/", Path: "/a/", Upstream: "https://a", Auth: proxy.AuthRequired,
				Timeout: 30 * time.Second, UploadIdleTimeout: 30 * time.Second, RetryOn401: true, MaxRequestBody: 10 << 20,
				Token: &credential.TokenSpec{Resource: "https://a.example/", Scopes: []string{"r", "w"}}}},
		{"a token exchange becomes the route's token spec",
			config.Route{Path: "/x/", Upstream: "https://x", TokenExchange: config.TokenExchange{Audience: "aud", Scope: "s", Resource: "urn:x"}},
			proxy.Route{Name: "/x/", Path: "/x/", Upstream: "https://x", Auth: proxy.AuthRequired,
				Timeout: 30 * time.Second, UploadIdleTimeout: 30 * time.Second, RetryOn401: true, MaxRequestBody: 10 << 20,
				Token: &credential.TokenSpec{Exchange: &credential.ExchangeSpec{Audience: "aud", Scope: "s", Resource: "urn:x"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := proxyRoutes([]config.Route{tt.in})[0]; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestEveryRouteKeyReachesTheProxy: a key added to config.Route needs a field in
// proxy.Route (and a line in proxyRoutes), or a reason to stay in config alone.
func TestEveryRouteKeyReachesTheProxy(t *testing.T) {
	configOnly := map[string]bool{"AllowInsecureUpstream": true} // checked by config at load
	// The route's own token keys reach the proxy as one field, proxy.Route.Token.
	inToken := map[string]bool{"Resource": true, "Scopes": true, "TokenExchange": true}
	proxyFields := map[string]bool{}
	for f := range reflect.TypeFor[proxy.Route]().Fields() {
		proxyFields[f.Name] = true
	}
	for f := range reflect.TypeFor[config.Route]().Fields() {
		if inToken[f.Name] && !proxyFields["Token"] {
			t.Errorf("config.Route.%s has no proxy.Route.Token to reach", f.Name)
		}
		if !configOnly[f.Name] && !inToken[f.Name] && !proxyFields[f.Name] {
			t.Errorf("config.Route.%s has no proxy.Route field", f.Name)
		}
	}
}
