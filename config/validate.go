package config

import (
	"slices"
	"time"
)

// Allowed values of the enumerated keys.
var (
	tokenEndpointAuths = []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}
	dpopAlgorithms     = []string{"ES256", "EdDSA"} // RS256: see validateOIDC
	assertionAudiences = []string{"issuer", "tokenEndpoint"}
	sessionStores      = []string{"", "embedded", "redis"}
	sameSites          = []string{"strict", "lax"}
	routeAuths         = []string{"required", "optional", "none"}
	logFormats         = []string{"json", "text"}
	logLevels          = []string{"debug", "info", "warn", "error"}
)

// Validate checks every value of c and returns nil, or a *ValidationError listing EVERY
// problem found, sorted by key path. It has no side effects (no network, no files) and
// is safe for concurrent use. c is expected to come from Load (secret files resolved,
// route defaults filled in); a Config built in code should start from Defaults and
// pass its routes through Route.WithDefaults. No message contains a secret value.
func Validate(c Config) error {
	var ps problems
	validateServer(c.Server, &ps)
	validateOIDCBlock(c.OIDC, &ps)
	validateSession(c.Session, c.Server.PublicURL, &ps)
	validateCSRF(c.CSRF, &ps)
	validateRoutes(c.Routes, &ps)
	validateIdentity(c, &ps)
	validateSPA(c.SPA, &ps)
	validateLog(c.Log, &ps)
	validateRateLimit(c.RateLimit, &ps)
	return ps.err()
}

func validateRateLimit(r RateLimit, ps *problems) {
	if r.PerMinute < 0 || r.PerMinute > 100000 {
		ps.add("rateLimit.perMinute", "must be 0 (off) to 100000")
	}
	if r.PerMinute > 0 && (r.Burst < 1 || r.Burst > 100000) {
		ps.add("rateLimit.burst", "must be 1 to 100000 when rateLimit.perMinute is set")
	}
}

func validateLog(l Log, ps *problems) {
	if !slices.Contains(logFormats, l.Format) {
		ps.add("log.format", "%q %s", l.Format, oneOf(logFormats...))
	}
	if !slices.Contains(logLevels, l.Level) {
		ps.add("log.level", "%q %s", l.Level, oneOf(logLevels...))
	}
}

// positive adds a Problem when a duration is not > 0.
func positive(path string, d time.Duration, ps *problems) {
	if d <= 0 {
		ps.add(path, "must be a positive duration, e.g. 30s")
	}
}
