package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestValidateAcceptsValidConfigs(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{name: "defaults plus required keys", mutate: func(c *Config) {}},
		{name: "http on localhost", mutate: func(c *Config) { c.Server.PublicURL = "http://localhost:8080" }},
		{name: "http on 127.0.0.2", mutate: func(c *Config) { c.Server.PublicURL = "http://127.0.0.2:8080" }},
		{name: "http on ::1", mutate: func(c *Config) { c.Server.PublicURL = "http://[::1]:8080" }},
		{name: "http issuer with allowInsecureIssuer", mutate: func(c *Config) {
			c.OIDC.Issuer, c.OIDC.AllowInsecureIssuer = "http://keycloak:8080/realms/demo", true
		}},
		{name: "http issuer on loopback", mutate: func(c *Config) { c.OIDC.Issuer = "http://127.0.0.1:9999" }},
		{name: "issuer with a path", mutate: func(c *Config) { c.OIDC.Issuer = "https://idp.example.com/realms/x" }},
		{name: "client_secret_post", mutate: func(c *Config) { c.OIDC.TokenEndpointAuth = "client_secret_post" }},
		{name: "redis store", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "rediss://:pw@redis:6380/0" }},
		{name: "redis sentinel form", mutate: func(c *Config) {
			c.Session.Store, c.Session.RedisURL = "redis", "redis://s1:26379?master_name=mymaster&addr=s2:26379"
		}},
		{name: "redis sentinel scheme", mutate: func(c *Config) {
			c.Session.Store, c.Session.RedisURL = "redis", "rediss+sentinel://:pw@s1:26379/0?master_name=m&addr=s2:26379"
		}},
		{name: "redis cluster form", mutate: func(c *Config) {
			c.Session.Store, c.Session.RedisURL = "redis", "redis://n1:6379?addr=n2:6379&addr=n3:6379"
		}},
		{name: "redis cluster scheme", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "redis+cluster://n1:6379" }},
		{name: "redis unix socket", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "unix:///run/redis.sock?db=2" }},
		{name: "embedded store named", mutate: func(c *Config) { c.Session.Store = "embedded" }},
		{name: "one key", mutate: func(c *Config) { c.Session.Keys = []string{testKey1} }},
		{name: "plain cookie name on plain http loopback", mutate: func(c *Config) {
			c.Server.PublicURL, c.Session.CookieName = "http://localhost:8080", "bff_session"
		}},
		{name: "lax", mutate: func(c *Config) { c.Session.SameSite = "lax" }},
		{name: "no routes, no SPA", mutate: func(c *Config) { c.Routes, c.SPA = nil, SPA{} }},
		{name: "route without strip", mutate: func(c *Config) { c.Routes[0].StripPrefix = "" }},
		{name: "route strip deeper prefix", mutate: func(c *Config) {
			c.Routes[0].Path, c.Routes[0].StripPrefix = "/api/v1/", "/api"
		}},
		{name: "route methods", mutate: func(c *Config) { c.Routes[0].Methods = []string{"GET", "POST"} }},
		{name: "spa upstream", mutate: func(c *Config) { c.SPA.Upstream = "http://127.0.0.1:5173" }},
		{name: "listen on port 0 twice", mutate: func(c *Config) { c.Server.Listen, c.Server.AdminListen = "127.0.0.1:0", "127.0.0.1:0" }},
		{name: "trusted proxies", mutate: func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "::1"} }},
		{name: "text logs", mutate: func(c *Config) { c.Log.Format, c.Log.Level = "text", "debug" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			if err := Validate(c); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(c *Config)
		wantPath  string
		wantInMsg string
	}{
		// server
		{name: "publicURL missing", mutate: func(c *Config) { c.Server.PublicURL = "" }, wantPath: "server.publicURL", wantInMsg: "required"},
		{name: "publicURL relative", mutate: func(c *Config) { c.Server.PublicURL = "app.example.com" }, wantPath: "server.publicURL", wantInMsg: "absolute"},
		{name: "publicURL with path", mutate: func(c *Config) { c.Server.PublicURL = "https://app.example.com/app" }, wantPath: "server.publicURL", wantInMsg: "without a path"},
		{name: "publicURL with slash", mutate: func(c *Config) { c.Server.PublicURL = "https://app.example.com/" }, wantPath: "server.publicURL", wantInMsg: "without a path"},
		{name: "publicURL with query", mutate: func(c *Config) { c.Server.PublicURL = "https://app.example.com?a=1" }, wantPath: "server.publicURL", wantInMsg: "query"},
		{name: "publicURL with fragment", mutate: func(c *Config) { c.Server.PublicURL = "https://app.example.com#x" }, wantPath: "server.publicURL", wantInMsg: "fragment"},
		{name: "publicURL with empty fragment", mutate: func(c *Config) { c.Server.PublicURL = "https://app.example.com#" }, wantPath: "server.publicURL", wantInMsg: "fragment"},
		{name: "publicURL with user info", mutate: func(c *Config) { c.Server.PublicURL = "https://u:p@app.example.com" }, wantPath: "server.publicURL", wantInMsg: "user info"},
		{name: "publicURL ftp", mutate: func(c *Config) { c.Server.PublicURL = "ftp://app.example.com" }, wantPath: "server.publicURL", wantInMsg: "http or https"},
		{name: "listen not host:port", mutate: func(c *Config) { c.Server.Listen = "8080" }, wantPath: "server.listen", wantInMsg: "host:port"},
		{name: "listen named port", mutate: func(c *Config) { c.Server.Listen = ":http" }, wantPath: "server.listen", wantInMsg: "port must be a number"},
		{name: "listen port too big", mutate: func(c *Config) { c.Server.Listen = ":65536" }, wantPath: "server.listen", wantInMsg: "port must be a number"},
		{name: "admin listen missing", mutate: func(c *Config) { c.Server.AdminListen = "" }, wantPath: "server.adminListen", wantInMsg: "host:port"},
		{name: "admin listen same as public", mutate: func(c *Config) { c.Server.AdminListen = ":8080" }, wantPath: "server.adminListen", wantInMsg: "must differ"},
		{name: "shutdown timeout zero", mutate: func(c *Config) { c.Server.ShutdownTimeout = 0 }, wantPath: "server.shutdownTimeout", wantInMsg: "positive"},
		{name: "trusted proxy garbage", mutate: func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"} }, wantPath: "server.trustedProxies[1]", wantInMsg: "CIDR"},
		// oidc
		{name: "issuer missing", mutate: func(c *Config) { c.OIDC.Issuer = "" }, wantPath: "oidc.issuer", wantInMsg: "required"},
		{name: "issuer http", mutate: func(c *Config) { c.OIDC.Issuer = "http://idp.example.com" }, wantPath: "oidc.issuer", wantInMsg: "https"},
		{name: "issuer with query", mutate: func(c *Config) { c.OIDC.Issuer = "https://idp.example.com?x=1" }, wantPath: "oidc.issuer", wantInMsg: "query"},
		{name: "client ID missing", mutate: func(c *Config) { c.OIDC.ClientID = "" }, wantPath: "oidc.clientID", wantInMsg: "required"},
		{name: "client secret missing", mutate: func(c *Config) { c.OIDC.ClientSecret = "" }, wantPath: "oidc.clientSecret", wantInMsg: "clientSecretFile"},
		{name: "scopes without openid", mutate: func(c *Config) { c.OIDC.Scopes = []string{"profile"} }, wantPath: "oidc.scopes", wantInMsg: "openid"},
		{name: "scope with space", mutate: func(c *Config) { c.OIDC.Scopes = []string{"openid", "a b"} }, wantPath: "oidc.scopes[1]", wantInMsg: "scope token"},
		{name: "token endpoint auth unknown", mutate: func(c *Config) { c.OIDC.TokenEndpointAuth = "client_secret_jwt" }, wantPath: "oidc.tokenEndpointAuth", wantInMsg: "client_secret_basic, client_secret_post, private_key_jwt"},
		{name: "private_key_jwt without a key", mutate: func(c *Config) { c.OIDC.TokenEndpointAuth, c.OIDC.ClientSecret = "private_key_jwt", "" }, wantPath: "oidc.clientKey", wantInMsg: "bff keygen --client-key"},
		{name: "private_key_jwt with a leftover secret", mutate: func(c *Config) { c.OIDC.TokenEndpointAuth, c.OIDC.ClientKey = "private_key_jwt", testClientKeyPEM }, wantPath: "oidc.clientSecret", wantInMsg: "remove it"},
		{name: "private_key_jwt with a key that is no key", mutate: func(c *Config) {
			c.OIDC.TokenEndpointAuth, c.OIDC.ClientSecret, c.OIDC.ClientKey = "private_key_jwt", "", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, wantPath: "oidc.clientKey", wantInMsg: "not a private key"},
		{name: "a client key unused by client_secret_basic", mutate: func(c *Config) { c.OIDC.ClientKey = testClientKeyPEM }, wantPath: "oidc.clientKey", wantInMsg: "private_key_jwt"},
		{name: "dpop algorithm RS256 refused (a key per login)", mutate: func(c *Config) { c.OIDC.DPoP, c.OIDC.DPoPAlgorithm = true, "RS256" }, wantPath: "oidc.dpopAlgorithm", wantInMsg: "use ES256"},
		{name: "dpop algorithm unknown", mutate: func(c *Config) { c.OIDC.DPoPAlgorithm = "PS256" }, wantPath: "oidc.dpopAlgorithm", wantInMsg: "ES256, EdDSA"},
		{name: "userInfo with dpop (no proof at the UserInfo endpoint)", mutate: func(c *Config) { c.OIDC.UserInfo, c.OIDC.DPoP = true, true }, wantPath: "oidc.userInfo", wantInMsg: "oidc.dpop"},
		{name: "token endpoint auth empty", mutate: func(c *Config) { c.OIDC.TokenEndpointAuth = "" }, wantPath: "oidc.tokenEndpointAuth", wantInMsg: "must be one of"},
		{name: "refresh skew zero", mutate: func(c *Config) { c.OIDC.RefreshSkew = 0 }, wantPath: "oidc.refreshSkew", wantInMsg: "positive"},
		{name: "forced refresh cooldown zero", mutate: func(c *Config) { c.OIDC.ForcedRefreshCooldown = 0 }, wantPath: "oidc.forcedRefreshCooldown", wantInMsg: "positive"},
		{name: "max token age zero", mutate: func(c *Config) { c.OIDC.MaxTokenAge = 0 }, wantPath: "oidc.maxTokenAge", wantInMsg: "at most 24h"},
		{name: "max token age over a day", mutate: func(c *Config) { c.OIDC.MaxTokenAge = 25 * time.Hour }, wantPath: "oidc.maxTokenAge", wantInMsg: "at most 24h"},
		{name: "http timeout negative", mutate: func(c *Config) { c.OIDC.HTTPTimeout = -time.Second }, wantPath: "oidc.httpTimeout", wantInMsg: "positive"},
		{name: "post logout absolute", mutate: func(c *Config) { c.OIDC.PostLogoutRedirect = "https://evil.example" }, wantPath: "oidc.postLogoutRedirect", wantInMsg: "starting with"},
		{name: "post logout protocol relative", mutate: func(c *Config) { c.OIDC.PostLogoutRedirect = "//evil.example" }, wantPath: "oidc.postLogoutRedirect", wantInMsg: "//"},
		{name: "post logout into bff", mutate: func(c *Config) { c.OIDC.PostLogoutRedirect = "/bff/login" }, wantPath: "oidc.postLogoutRedirect", wantInMsg: "/bff/"},
		{name: "auth param not a name", mutate: func(c *Config) { c.OIDC.AuthParams = []string{"a&b"} }, wantPath: "oidc.authParams[0]", wantInMsg: "parameter name"},
		// session
		{name: "store unknown", mutate: func(c *Config) { c.Session.Store = "memcached" }, wantPath: "session.store", wantInMsg: "embedded, redis"},
		{name: "redis without URL", mutate: func(c *Config) { c.Session.Store = "redis" }, wantPath: "session.redisURL", wantInMsg: "is required (or set session.redisURLFile)"},
		{name: "redis URL wrong scheme", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "http://redis:6379" }, wantPath: "session.redisURL", wantInMsg: "must be one of redis, rediss"},
		{name: "redis sentinel without master", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "redis+sentinel://s1:26379" }, wantPath: "session.redisURL", wantInMsg: "master_name"},
		{name: "redis unix without path", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "unix://" }, wantPath: "session.redisURL", wantInMsg: "socket path"},
		{name: "redis URL without host", mutate: func(c *Config) { c.Session.Store, c.Session.RedisURL = "redis", "redis:///0" }, wantPath: "session.redisURL", wantInMsg: "host"},
		{name: "redis URL without redis store", mutate: func(c *Config) { c.Session.RedisURL = "redis://redis:6379" }, wantPath: "session.redisURL", wantInMsg: "session.store is not redis"},
		{name: "idle timeout zero", mutate: func(c *Config) { c.Session.IdleTimeout = 0 }, wantPath: "session.idleTimeout", wantInMsg: "positive"},
		{name: "absolute timeout zero", mutate: func(c *Config) { c.Session.AbsoluteTimeout = 0 }, wantPath: "session.absoluteTimeout", wantInMsg: "positive"},
		{name: "idle beyond absolute", mutate: func(c *Config) { c.Session.IdleTimeout = 13 * time.Hour }, wantPath: "session.idleTimeout", wantInMsg: "must not exceed"},
		{name: "login timeout zero", mutate: func(c *Config) { c.Session.LoginTimeout = 0 }, wantPath: "session.loginTimeout", wantInMsg: "positive"},
		{name: "no keys", mutate: func(c *Config) { c.Session.Keys = nil }, wantPath: "session.keys", wantInMsg: "is required (or set session.keysFile)"},
		{name: "keys file not read", mutate: func(c *Config) { c.Session.Keys, c.Session.KeysFile = nil, "/run/keys" }, wantPath: "session.keys", wantInMsg: "its file (session.keysFile) was not read"},
		{name: "client secret file not read", mutate: func(c *Config) { c.OIDC.ClientSecret, c.OIDC.ClientSecretFile = "", "/run/s" }, wantPath: "oidc.clientSecret", wantInMsg: "was not read"},
		{name: "key not base64", mutate: func(c *Config) { c.Session.Keys = []string{testKey1, "not base64!"} }, wantPath: "session.keys[1]", wantInMsg: "not standard base64"},
		{name: "key url-safe base64", mutate: func(c *Config) { c.Session.Keys = []string{"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA_"} }, wantPath: "session.keys[0]", wantInMsg: "not standard base64"},
		{name: "key too short", mutate: func(c *Config) { c.Session.Keys = []string{"c2hvcnQ="} }, wantPath: "session.keys[0]", wantInMsg: "decodes to 5 bytes, want 32"},
		{name: "key all zero", mutate: func(c *Config) { c.Session.Keys = []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="} }, wantPath: "session.keys[0]", wantInMsg: "all zero"},
		{name: "key with newline", mutate: func(c *Config) { c.Session.Keys = []string{testKey1[:20] + "\n" + testKey1[20:]} }, wantPath: "session.keys[0]", wantInMsg: "not standard base64"},
		{name: "duplicate key", mutate: func(c *Config) { c.Session.Keys = []string{testKey1, testKey2, testKey1} }, wantPath: "session.keys[2]", wantInMsg: "duplicates session.keys[0]"},
		{name: "cookie name with separator", mutate: func(c *Config) { c.Session.CookieName = "bff;session" }, wantPath: "session.cookieName", wantInMsg: "cookie name"},
		{name: "cookie name empty", mutate: func(c *Config) { c.Session.CookieName = "" }, wantPath: "session.cookieName", wantInMsg: "cookie name"},
		{name: "cookie name of the login cookie", mutate: func(c *Config) { c.Session.CookieName = "__Host-bff-login" }, wantPath: "session.cookieName", wantInMsg: "reserved for the login cookie"},
		{name: "same site none", mutate: func(c *Config) { c.Session.SameSite = "none" }, wantPath: "session.sameSite", wantInMsg: "strict, lax"},
		{name: "same site capitalised", mutate: func(c *Config) { c.Session.SameSite = "Strict" }, wantPath: "session.sameSite", wantInMsg: "strict, lax"},
		{name: "max pending logins zero", mutate: func(c *Config) { c.Session.MaxPendingLogins = 0 }, wantPath: "session.maxPendingLogins", wantInMsg: "1 to 20"},
		{name: "max pending logins 21", mutate: func(c *Config) { c.Session.MaxPendingLogins = 21 }, wantPath: "session.maxPendingLogins", wantInMsg: "1 to 20"},
		// csrf
		{name: "csrf header with space", mutate: func(c *Config) { c.CSRF.HeaderName = "X CSRF" }, wantPath: "csrf.headerName", wantInMsg: "header name"},
		{name: "csrf header empty", mutate: func(c *Config) { c.CSRF.HeaderName = "" }, wantPath: "csrf.headerName", wantInMsg: "header name"},
		{name: "csrf header forbidden to scripts", mutate: func(c *Config) { c.CSRF.HeaderName = "Sec-Fetch-Site" }, wantPath: "csrf.headerName", wantInMsg: "reserved"},
		{name: "csrf header cookie", mutate: func(c *Config) { c.CSRF.HeaderName = "Cookie" }, wantPath: "csrf.headerName", wantInMsg: "reserved"},
		// routes
		{name: "route path without leading slash", mutate: func(c *Config) { c.Routes[0].Path = "api/" }, wantPath: "routes[0].path", wantInMsg: "start and end"},
		{name: "route path without trailing slash", mutate: func(c *Config) { c.Routes[0].Path, c.Routes[0].StripPrefix = "/api", "" }, wantPath: "routes[0].path", wantInMsg: "start and end"},
		{name: "route path root", mutate: func(c *Config) { c.Routes[0].Path, c.Routes[0].StripPrefix = "/", "" }, wantPath: "routes[0].path", wantInMsg: "SPA"},
		{name: "route path with dot segment", mutate: func(c *Config) { c.Routes[0].Path, c.Routes[0].StripPrefix = "/./api/", "" }, wantPath: "routes[0].path", wantInMsg: "clean"},
		{name: "route upstream missing", mutate: func(c *Config) { c.Routes[0].Upstream = "" }, wantPath: "routes[0].upstream", wantInMsg: "required"},
		{name: "route upstream relative", mutate: func(c *Config) { c.Routes[0].Upstream = "/internal" }, wantPath: "routes[0].upstream", wantInMsg: "absolute"},
		{name: "route upstream ws", mutate: func(c *Config) { c.Routes[0].Upstream = "ws://127.0.0.1:9000" }, wantPath: "routes[0].upstream", wantInMsg: "http or https"},
		{name: "route upstream with query", mutate: func(c *Config) { c.Routes[0].Upstream = "http://127.0.0.1:9000/?x=1" }, wantPath: "routes[0].upstream", wantInMsg: "query"},
		{name: "route upstream with fragment", mutate: func(c *Config) { c.Routes[0].Upstream = "http://127.0.0.1:9000/#x" }, wantPath: "routes[0].upstream", wantInMsg: "fragment"},
		{name: "route upstream without host", mutate: func(c *Config) { c.Routes[0].Upstream = "http:///x" }, wantPath: "routes[0].upstream", wantInMsg: "host"},
		{name: "strip prefix with slash", mutate: func(c *Config) { c.Routes[0].StripPrefix = "/api/" }, wantPath: "routes[0].stripPrefix", wantInMsg: "not end with"},
		{name: "strip prefix not a prefix", mutate: func(c *Config) { c.Routes[0].StripPrefix = "/other" }, wantPath: "routes[0].stripPrefix", wantInMsg: "prefix of the route's path"},
		{name: "strip prefix mid segment", mutate: func(c *Config) { c.Routes[0].StripPrefix = "/ap" }, wantPath: "routes[0].stripPrefix", wantInMsg: "whole segments"},
		{name: "route auth unknown", mutate: func(c *Config) { c.Routes[0].Auth = "maybe" }, wantPath: "routes[0].auth", wantInMsg: "required, optional, none"},
		{name: "route timeout zero", mutate: func(c *Config) { c.Routes[0].Timeout = 0 }, wantPath: "routes[0].timeout", wantInMsg: "positive"},
		{name: "route method lower case", mutate: func(c *Config) { c.Routes[0].Methods = []string{"GET", "post"} }, wantPath: "routes[0].methods[1]", wantInMsg: "upper-case"},
		{name: "route method not a token", mutate: func(c *Config) { c.Routes[0].Methods = []string{"GET POST"} }, wantPath: "routes[0].methods[0]", wantInMsg: "upper-case"},
		{name: "route name empty", mutate: func(c *Config) { c.Routes[0].Name = "" }, wantPath: "routes[0].name", wantInMsg: "required"},
		{name: "duplicate route path", mutate: func(c *Config) {
			c.Routes = append(c.Routes, Route{Name: "b", Path: "/api/", Upstream: "http://127.0.0.1:1"}.WithDefaults())
		}, wantPath: "routes[1].path", wantInMsg: "duplicates routes[0].path"},
		{name: "duplicate route name", mutate: func(c *Config) {
			c.Routes = append(c.Routes, Route{Name: "/api/", Path: "/b/", Upstream: "http://127.0.0.1:1"}.WithDefaults())
		}, wantPath: "routes[1].name", wantInMsg: "duplicates routes[0].name"},
		// spa, log
		{name: "spa dir and upstream", mutate: func(c *Config) { c.SPA = SPA{Dir: "./dist", Upstream: "http://127.0.0.1:5173"} }, wantPath: "spa", wantInMsg: "not both"},
		{name: "spa upstream relative", mutate: func(c *Config) { c.SPA.Upstream = "localhost:5173" }, wantPath: "spa.upstream", wantInMsg: "http or https"},
		{name: "log format", mutate: func(c *Config) { c.Log.Format = "logfmt" }, wantPath: "log.format", wantInMsg: "json, text"},
		{name: "log level", mutate: func(c *Config) { c.Log.Level = "trace" }, wantPath: "log.level", wantInMsg: "debug, info, warn, error"},
		{name: "forward-auth without trusted proxies", mutate: func(c *Config) { c.Server.ForwardAuth = true }, wantPath: "server.forwardAuth", wantInMsg: "trustedProxies"},
		{name: "cache TTL too long", mutate: func(c *Config) { c.Session.CacheTTL = time.Minute }, wantPath: "session.cacheTTL", wantInMsg: "0 (off) to 10s"},
		{name: "rate limit negative", mutate: func(c *Config) { c.RateLimit.PerMinute = -1 }, wantPath: "rateLimit.perMinute", wantInMsg: "0 (off)"},
		{name: "rate limit without burst", mutate: func(c *Config) { c.RateLimit.Burst = 0 }, wantPath: "rateLimit.burst", wantInMsg: "1 to 100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			ps := problemsOf(t, Validate(c))
			if _, ok := findProblem(ps, tt.wantPath, tt.wantInMsg); !ok {
				t.Errorf("want a problem at %s containing %q, got %v", tt.wantPath, tt.wantInMsg, ps)
			}
		})
	}
}

func TestValidateListsEveryProblemSorted(t *testing.T) {
	c := validConfig()
	c.Log.Level = "loud"
	c.Server.PublicURL = ""
	c.OIDC.ClientID = ""
	c.Session.Keys = []string{"bad"}
	for i := range 11 {
		c.Routes = append(c.Routes, Route{Name: "r" + string(rune('a'+i)), Path: "/r" + string(rune('a'+i)) + "/", Upstream: "ftp://x"}.WithDefaults())
	}
	ps := problemsOf(t, Validate(c))
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	want := []string{"log.level", "oidc.clientID"}
	for i := 1; i <= 11; i++ {
		want = append(want, indexPath("routes", i)+".upstream")
	}
	want = append(want, "server.publicURL", "session.keys[0]")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problem paths =\n  %v\nwant (every problem, sorted, indexes numerically)\n  %v", got, want)
	}
}

func TestValidateHasNoSideEffects(t *testing.T) {
	c := validConfig()
	c.Routes[0].Name = ""
	before := validConfig()
	before.Routes[0].Name = ""
	_ = Validate(c)
	if !reflect.DeepEqual(c, before) {
		t.Error("Validate changed its input")
	}
}

// Security tests: each rule below stops an attack, and is named after it.

func TestValidateRejectsPlainHTTPPublicOriginSoCookiesAreNotSniffed(t *testing.T) {
	for _, u := range []string{"http://app.example.com", "http://10.0.0.5:8080", "http://localhost.evil.com", "http://127.0.0.1.nip.io"} {
		c := validConfig()
		c.Server.PublicURL = u
		ps := problemsOf(t, Validate(c))
		if _, ok := findProblem(ps, "server.publicURL", "https"); !ok {
			t.Errorf("%s accepted as public origin: %v", u, ps)
		}
		if _, ok := findProblem(ps, "session.cookieName", "__Host-"); !ok {
			t.Errorf("%s: a __Host- cookie over plain http must be refused too: %v", u, ps)
		}
	}
}

func TestValidateRejectsRoutesShadowingBFFEndpoints(t *testing.T) {
	for _, p := range []string{"/bff/", "/bff/callback/", "/bff/api/"} {
		c := validConfig()
		c.Routes[0].Path, c.Routes[0].StripPrefix = p, ""
		if _, ok := findProblem(problemsOf(t, Validate(c)), "routes[0].path", "/bff/"); !ok {
			t.Errorf("route %s would shadow the BFF's endpoints", p)
		}
	}
}

func TestValidateRejectsRoutePathTraversalAndEncodingTricks(t *testing.T) {
	for _, p := range []string{"/api/../bff/", "/api//", "/api%2f../", "/api\\x/", "/a/./b/", "/api/:id/", "/api/*/", "/api /", "/ápi/"} {
		c := validConfig()
		c.Routes[0].Path, c.Routes[0].StripPrefix = p, ""
		if ps := problemsOf(t, Validate(c)); len(ps) == 0 || ps[0].Path != "routes[0].path" {
			t.Errorf("route path %q accepted: %v", p, ps)
		}
	}
}

func TestValidateRejectsAuthParamsThatOverrideProtocolParameters(t *testing.T) {
	for _, p := range []string{"redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method", "client_id", "scope", "response_type", "request_uri", "Redirect_URI"} {
		c := validConfig()
		c.OIDC.AuthParams = []string{"prompt", p}
		if _, ok := findProblem(problemsOf(t, Validate(c)), "oidc.authParams[1]", "set by the BFF"); !ok {
			t.Errorf("login link could override %s", p)
		}
	}
}

func TestValidateRejectsCSRFHeaderSentWithoutPreflight(t *testing.T) {
	for _, h := range []string{"Content-Type", "accept", "Accept-Language", "Content-Language", "Range"} {
		c := validConfig()
		c.CSRF.HeaderName = h
		if _, ok := findProblem(problemsOf(t, Validate(c)), "csrf.headerName", "CORS-safelisted"); !ok {
			t.Errorf("CSRF header %s needs no preflight: a cross-site form could send it", h)
		}
	}
}

func TestValidateRejectsWeakSessionKeys(t *testing.T) {
	c := validConfig()
	c.Session.Keys = []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "c2hvcnQ=", testKey1, testKey1}
	ps := problemsOf(t, Validate(c))
	for _, path := range []string{"session.keys[0]", "session.keys[1]", "session.keys[3]"} {
		if _, ok := findProblem(ps, path, ""); !ok {
			t.Errorf("no problem for %s: %v", path, ps)
		}
	}
}

// TestProblemsNeverContainSecretValues: a problem ends up in logs and CI output.
func TestProblemsNeverContainSecretValues(t *testing.T) {
	c := validConfig()
	c.Session.Keys = []string{"bm90LWEta2V5LWJ1dC1zZWNyZXQ=", "!!" + "SECRETKEY", testKey1, testKey1}
	c.Session.Store, c.Session.RedisURL = "redis", "http://user:SECRETPW@redis:6379"
	c.OIDC.ClientSecret = "SECRETCLIENT"
	c.OIDC.Issuer = ""
	msg := Validate(c).Error()
	for _, secret := range []string{"bm90LWEta2V5", "SECRETKEY", testKey1[:10], "SECRETPW", "SECRETCLIENT"} {
		if strings.Contains(msg, secret) {
			t.Errorf("validation error leaks %q:\n%s", secret, msg)
		}
	}
	bad := validConfig()
	bad.Session.Store, bad.Session.RedisURL = "redis", "redis://u:SECRETPW@[::1" // unparsable
	if msg := Validate(bad).Error(); strings.Contains(msg, "SECRETPW") {
		t.Errorf("URL parse error leaks the Redis password:\n%s", msg)
	}
}

// TestValidateRejectsBearerInClearTextToARemoteUpstream: a route to plain http on a host
// that is not loopback would send every user's bearer across the network readable; it is
// refused, with the key path and the fix, unless the route opts in. Host names other than
// localhost count as remote: validation resolves nothing.
func TestValidateRejectsBearerInClearTextToARemoteUpstream(t *testing.T) {
	tests := []struct {
		upstream string
		optIn    bool
		refused  bool
	}{
		{upstream: "http://api:9000", refused: true},
		{upstream: "http://api.app.svc.cluster.local:8080/v1", refused: true},
		{upstream: "http://10.0.0.5:8080", refused: true},
		{upstream: "http://[fd00::1]:8080", refused: true},
		{upstream: "http://localhost.evil.com", refused: true},
		{upstream: "http://127.0.0.1.nip.io", refused: true},
		{upstream: "http://0.0.0.0:9000", refused: true},
		{upstream: "HTTP://api:9000", refused: true},
		{upstream: "http://api:9000", optIn: true},
		{upstream: "http://10.0.0.5:8080", optIn: true},
		{upstream: "https://api:9443"},
		{upstream: "http://127.0.0.1:9000"},
		{upstream: "http://127.8.9.10:9000"},
		{upstream: "http://localhost:9000"},
		{upstream: "http://LOCALHOST:9000"},
		{upstream: "http://[::1]:9000"},
		{upstream: "http://[::ffff:127.0.0.1]:9000"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s opt-in=%v", tt.upstream, tt.optIn), func(t *testing.T) {
			c := validConfig()
			c.Routes[0].Upstream, c.Routes[0].AllowInsecureUpstream = tt.upstream, tt.optIn
			err := Validate(c)
			if !tt.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p, ok := findProblem(problemsOf(t, err), "routes[0].upstream", "clear text")
			if !ok {
				t.Fatalf("accepted a bearer in clear text to %s: %v", tt.upstream, err)
			}
			if !strings.Contains(p.Message, "routes[0].allowInsecureUpstream: true") || !strings.Contains(p.Message, "https") {
				t.Errorf("the problem does not say the fix: %s", p.Message)
			}
		})
	}
}

// TestValidateBoundsBodyAndHeaderSizes: routes[].maxRequestBody is a byte count (0: no
// bound), server.maxHeaderBytes stays within 8 KiB..1 MiB.
func TestValidateBoundsBodyAndHeaderSizes(t *testing.T) {
	for _, tt := range []struct {
		name     string
		mutate   func(c *Config)
		wantPath string // "": valid
	}{
		{name: "no body bound", mutate: func(c *Config) { zero := 0; c.Routes[0].MaxRequestBody = &zero }},
		{name: "1 GiB body", mutate: func(c *Config) { n := 1 << 30; c.Routes[0].MaxRequestBody = &n }},
		{name: "negative body bound", mutate: func(c *Config) { n := -1; c.Routes[0].MaxRequestBody = &n }, wantPath: "routes[0].maxRequestBody"},
		{name: "8 KiB heads", mutate: func(c *Config) { c.Server.MaxHeaderBytes = 8 << 10 }},
		{name: "1 MiB heads", mutate: func(c *Config) { c.Server.MaxHeaderBytes = 1 << 20 }},
		{name: "heads below 8 KiB", mutate: func(c *Config) { c.Server.MaxHeaderBytes = 4 << 10 }, wantPath: "server.maxHeaderBytes"},
		{name: "heads above 1 MiB", mutate: func(c *Config) { c.Server.MaxHeaderBytes = 1<<20 + 1 }, wantPath: "server.maxHeaderBytes"},
		{name: "heads 0", mutate: func(c *Config) { c.Server.MaxHeaderBytes = 0 }, wantPath: "server.maxHeaderBytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := Validate(c)
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if _, ok := findProblem(problemsOf(t, err), tt.wantPath, ""); !ok {
				t.Fatalf("want a problem at %s, got %v", tt.wantPath, err)
			}
		})
	}
}
