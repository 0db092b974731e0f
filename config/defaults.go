package config

import "time"

// Route defaults, applied by Load to every route (see Route.WithDefaults).
const (
	defaultRouteAuth    = "required"
	defaultRouteTimeout = 30 * time.Second
	// defaultUploadIdleTimeout: a pause this long in a request body is a stall, not a
	// slow link.
	defaultUploadIdleTimeout = 30 * time.Second
	// defaultMaxRequestBody bounds a proxied request body: generous for API payloads and
	// small uploads, small enough that a replica is not made to stream gigabytes.
	defaultMaxRequestBody = 10 << 20
)

// Defaults returns the configuration every other source overlays: each default stated
// in the doc comments of Config's fields. Required keys (server.publicURL, oidc.issuer,
// oidc.clientID, a client secret, session.keys) have none. The result is a fresh value:
// callers may modify it freely.
func Defaults() Config {
	return Config{
		Server: Server{
			Listen:          ":8080",
			AdminListen:     ":9090",
			ShutdownTimeout: 15 * time.Second,
			MaxHeaderBytes:  64 << 10,
			BodyReadTimeout: 10 * time.Second,
			MaxEventStreams: 10000,
			ForwardAuthHeaders: IdentityHeaders{
				User: "X-Auth-Request-User", Email: "X-Auth-Request-Email",
			},
		},
		OIDC: OIDC{
			Scopes:                  []string{"openid", "profile", "email", "offline_access"},
			TokenEndpointAuth:       "client_secret_basic",
			ClientAssertionAudience: "issuer",
			DPoPAlgorithm:           "ES256",
			RefreshSkew:             30 * time.Second,
			PostLogoutRedirect:      "/",
			AuthParams:              []string{"prompt", "login_hint", "acr_values", "ui_locales"},
			HTTPTimeout:             10 * time.Second,
			MaxTokenAge:             5 * time.Minute,

			ForcedRefreshCooldown: 30 * time.Second,
		},
		Session: Session{
			IdleTimeout:      30 * time.Minute,
			AbsoluteTimeout:  12 * time.Hour,
			CookieName:       "__Host-bff",
			SameSite:         "strict",
			LoginTimeout:     10 * time.Minute,
			CacheTTL:         time.Second,
			CoherentCacheTTL: 5 * time.Minute,
			CacheMaxEntries:  50000,
			MaxPendingLogins: 5,
			ExpiryWarning:    2 * time.Minute,
			RecordFormat:     "json",
		},
		CSRF:      CSRF{HeaderName: "X-CSRF"},
		Log:       Log{Format: "json", Level: "info"},
		RateLimit: RateLimit{PerMinute: 300, Burst: 150},
	}
}

// WithDefaults returns r with its unset fields defaulted: Name = Path, Auth =
// "required", Timeout = 30s, UploadIdleTimeout = 30s, RetryOn401 = true, MaxRequestBody
// = 10 MiB. An explicit
// `retryOn401: false` stays false, an explicit `maxRequestBody: 0` (no bound) stays 0. Load applies it to every route; callers that build a Config in code should too.
func (r Route) WithDefaults() Route {
	if r.Name == "" {
		r.Name = r.Path
	}
	if r.Auth == "" {
		r.Auth = defaultRouteAuth
	}
	if r.Timeout == 0 {
		r.Timeout = defaultRouteTimeout
	}
	if r.UploadIdleTimeout == 0 {
		r.UploadIdleTimeout = defaultUploadIdleTimeout
	}
	if r.RetryOn401 == nil {
		retry := true
		r.RetryOn401 = &retry
	}
	if r.MaxRequestBody == nil {
		limit := defaultMaxRequestBody
		r.MaxRequestBody = &limit
	}
	return r
}
