package bff

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// What `bff check` and `bff serve` need of the layers below, so that the CLI talks to the
// assembly only.

// PingStore connects to cfg's Redis session store and PINGs it once; nil for the
// embedded store, which has nothing to reach.
func PingStore(ctx context.Context, cfg config.Config) error {
	if cfg.Embedded() {
		return nil
	}
	keys, err := session.ParseKeys(cfg.Session.Keys)
	if err != nil {
		return fmt.Errorf("session keys: %w", err)
	}
	st, err := session.NewRedis(ctx, session.Options{URL: cfg.Session.RedisURL, Keys: keys, IdleTimeout: cfg.Session.IdleTimeout})
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Ping(ctx)
}

// StoreLocation is where cfg's session store is, fit to print: the Redis URL with any
// password replaced by "xxxxx", or "embedded".
func StoreLocation(cfg config.Config) string {
	if cfg.Embedded() {
		return "embedded"
	}
	return session.RedactRedisURL(cfg.Session.RedisURL)
}

// DiscoverIdP makes one discovery attempt (metadata and keys) with the relying party New
// would build from cfg.
func DiscoverIdP(ctx context.Context, cfg config.Config) error {
	p, err := idp.New(idpConfig(cfg))
	if err != nil {
		return fmt.Errorf("relying party: %w", err)
	}
	return p.Discover(ctx)
}

// SetRedisLogger sends go-redis's own messages (pool dial failures and the like) to l.
// It is process-wide: call it once, before New, as `bff serve` does.
func SetRedisLogger(l *slog.Logger) { session.SetRedisLogger(l) }

// CSRFHeaderName is the anti-forgery header the SPA must send, spelled as configured
// (csrf.headerName, default X-CSRF).
func CSRFHeaderName(cfg config.Config) string {
	if cfg.CSRF.HeaderName == "" {
		return csrf.DefaultHeaderName
	}
	return cfg.CSRF.HeaderName
}
