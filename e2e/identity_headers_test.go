package e2e

import (
	"net/http"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestIdentityHeadersCarryTheRealSession_IdentitySpoofing: with the in-process OP, a
// route with identityHeaders gets the logged-in user's sub, email and
// preferred_username, whatever the browser claims in headers of those names; a route
// without the option gets no identity and none of the browser's.
func TestIdentityHeadersCarryTheRealSession_IdentitySpoofing(t *testing.T) {
	other := testenv.NewUpstream(t)
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Routes[0].IdentityHeaders = config.IdentityHeaders{
			User: "X-Auth-Request-User", Email: "X-Auth-Request-Email", PreferredUsername: "X-Auth-Request-Preferred-Username",
		}
		c.Routes = append(c.Routes, config.Route{Path: "/other/", Upstream: other.URL}.WithDefaults())
	}})
	e.Login(t, nil, "alice", "/")
	var who struct {
		Sub    string         `json:"sub"`
		Claims map[string]any `json:"claims"`
	}
	testenv.JSON(t, e.Do(t, nil, http.MethodGet, "/bff/user", nil), &who)
	if who.Sub == "" || who.Claims["email"] == nil || who.Claims["preferred_username"] == nil {
		t.Fatalf("the OP's session lacks sub, email or preferred_username: %+v", who)
	}
	spoof := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL(path), nil)
		req.Header.Set("X-CSRF", "1")
		req.Header.Set("X-Auth-Request-User", "admin")
		req.Header.Set("X-Auth-Request-Email", "admin@example.com")
		req.Header["X_Auth_Request_Preferred_Username"] = []string{"root"}
		resp, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	spoof("/api/me")
	spoof("/other/me")
	seen := e.Upstream.Seen()
	got := seen[len(seen)-1]
	for name, want := range map[string]any{
		"X-Auth-Request-User": who.Sub, "X-Auth-Request-Email": who.Claims["email"],
		"X-Auth-Request-Preferred-Username": who.Claims["preferred_username"],
	} {
		if vs := got.Values(name); len(vs) != 1 || vs[0] != want {
			t.Errorf("identity route: upstream saw %s %q, want only %q", name, vs, want)
		}
	}
	seen = other.Seen()
	for _, name := range []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X_Auth_Request_Preferred_Username"} {
		if vs := seen[len(seen)-1].Values(name); len(vs) != 0 {
			t.Errorf("route without identityHeaders: upstream saw %s %q", name, vs)
		}
	}
}

// TestForwardAuthIdentityHeaderNamesAreConfigurable: server.forwardAuthHeaders renames
// forward-auth's identity headers (e.g. for an app that reads Remote-User); the default
// names are then not sent.
func TestForwardAuthIdentityHeaderNamesAreConfigurable(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		testenv.TrustLoopback(c)
		c.Server.ForwardAuthHeaders = config.IdentityHeaders{User: "Remote-User", Email: "Remote-Email", PreferredUsername: "Remote-Name"}
	}})
	e.Login(t, nil, "alice", "/")
	resp := e.AuthRequest(t, e.Client, "/bff/auth", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, name := range []string{"Remote-User", "Remote-Email", "Remote-Name"} {
		if resp.Header.Get(name) == "" {
			t.Errorf("forward-auth did not send %s: %v", name, resp.Header)
		}
	}
	for _, name := range []string{"X-Auth-Request-User", "X-Auth-Request-Email"} {
		if v := resp.Header.Get(name); v != "" {
			t.Errorf("forward-auth still sent %s %q", name, v)
		}
	}
}

// TestForwardAuthTrustsAnIPv4MappedProxyEntry: server.trustedProxies written as
// ::ffff:127.0.0.0/104 covers the ingress at 127.0.0.1; forward-auth, the rate limit and
// the proxy share one matcher, so none of them disagrees about it.
func TestForwardAuthTrustsAnIPv4MappedProxyEntry(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Server.TrustedProxies = []string{"::ffff:127.0.0.0/104"}
		c.Server.ForwardAuth = true
	}})
	if r := e.AuthRequest(t, e.Client, "/bff/auth", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a session from the mapped-entry ingress: %d, want 401 (not 403)", r.StatusCode)
	}
}
