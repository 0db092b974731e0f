package config

import (
	"testing"
)

// TestValidateIdentityHeaders: identity header names must be plain header names that
// cannot hijack credentials, framing or the forwarding headers; the problems name the key.
func TestValidateIdentityHeaders(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(c *Config)
		wantPath string // "" for valid
		wantMsg  string
	}{
		{name: "oauth2-proxy names on a route", mutate: func(c *Config) {
			c.Routes[0].IdentityHeaders = IdentityHeaders{User: "X-Auth-Request-User", Email: "X-Auth-Request-Email", PreferredUsername: "X-Auth-Request-Preferred-Username"}
		}},
		{name: "custom forward-auth names", mutate: func(c *Config) {
			c.Server.ForwardAuthHeaders = IdentityHeaders{User: "Remote-User", Email: "Remote-Email"}
		}},
		{name: "forward-auth identity off", mutate: func(c *Config) { c.Server.ForwardAuthHeaders = IdentityHeaders{} }},
		{name: "not a token", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.User = "X User" },
			wantPath: "routes[0].identityHeaders.user", wantMsg: "not a header name"},
		{name: "colon injection", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.Email = "X-Email: a" },
			wantPath: "routes[0].identityHeaders.email", wantMsg: "not a header name"},
		{name: "authorization spoofing the bearer", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.User = "authorization" },
			wantPath: "routes[0].identityHeaders.user", wantMsg: "reserved"},
		{name: "cookie", mutate: func(c *Config) { c.Server.ForwardAuthHeaders.Email = "Cookie" },
			wantPath: "server.forwardAuthHeaders.email", wantMsg: "reserved"},
		{name: "host", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.PreferredUsername = "Host" },
			wantPath: "routes[0].identityHeaders.preferredUsername", wantMsg: "reserved"},
		{name: "hop-by-hop connection", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.User = "Connection" },
			wantPath: "routes[0].identityHeaders.user", wantMsg: "reserved"},
		{name: "transfer-encoding smuggling", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.User = "Transfer-Encoding" },
			wantPath: "routes[0].identityHeaders.user", wantMsg: "reserved"},
		{name: "forwarding header in CGI spelling", mutate: func(c *Config) { c.Routes[0].IdentityHeaders.User = "X_Forwarded_For" },
			wantPath: "routes[0].identityHeaders.user", wantMsg: "reserved"},
		{name: "one header for two values", mutate: func(c *Config) {
			c.Routes[0].IdentityHeaders = IdentityHeaders{User: "X-User", Email: "x-user"}
		}, wantPath: "routes[0].identityHeaders.email", wantMsg: "also"},
		{name: "identity on a route that never knows the user", mutate: func(c *Config) {
			c.Routes[0].Auth, c.Routes[0].IdentityHeaders.User = "none", "X-User"
		}, wantPath: "routes[0].identityHeaders", wantMsg: "auth required or optional"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			ps := problemsOf(t, Validate(c))
			if tt.wantPath == "" {
				if len(ps) != 0 {
					t.Fatalf("Validate: %v", ps)
				}
				return
			}
			if _, ok := findProblem(ps, tt.wantPath, tt.wantMsg); !ok {
				t.Fatalf("want a problem at %s containing %q, got %v", tt.wantPath, tt.wantMsg, ps)
			}
		})
	}
}

// TestIdentityHeadersFromYAMLAndEnv: the route key and the forward-auth keys load from a
// file and from BFF_* variables like every other key.
func TestIdentityHeadersFromYAMLAndEnv(t *testing.T) {
	file := writeFile(t, "bff.yaml", "routes:\n  - {path: /api/, upstream: \"http://127.0.0.1:9\", identityHeaders: {user: X-User, preferredUsername: X-Name}}\n")
	c, err := Load(Source{File: file, Env: []string{"BFF_SERVER_FORWARD_AUTH_HEADERS_USER=Remote-User"}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Routes[0].IdentityHeaders; got != (IdentityHeaders{User: "X-User", PreferredUsername: "X-Name"}) {
		t.Errorf("route identityHeaders = %+v", got)
	}
	if got := c.Server.ForwardAuthHeaders; got != (IdentityHeaders{User: "Remote-User", Email: "X-Auth-Request-Email"}) {
		t.Errorf("server.forwardAuthHeaders = %+v", got)
	}
}
