package bff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/ratelimit"
	"github.com/tokenward/bff/session"
)

// library holds the options of an application that embeds the BFF (docs/library.md):
// collaborators it built and owns, which the BFF uses but never closes.
type library struct {
	store      session.Store
	redis      redis.UniversalClient
	registerer prometheus.Registerer
}

// WithStore makes the BFF keep its sessions, pending logins and login rate-limit budgets
// in st instead of the store the configuration names (session.store and session.redisURL
// must then be unset). Build st with the same session keys (session.ParseKeys of
// session.keys) and idle timeout (session.idleTimeout) as the configuration. The BFF
// does not close st: Server.Close leaves it to its owner.
func WithStore(st session.Store) Option { return func(o *options) { o.lib.store = st } }

// WithRedisClient makes the BFF keep its sessions in Redis through a client the
// application already has (single node, Sentinel or Cluster), with the BFF's own scripts,
// "bff:" key prefix and per-operation timeout, instead of dialling session.redisURL
// (session.store and session.redisURL must then be unset). The BFF does not close c.
func WithRedisClient(c redis.UniversalClient) Option {
	return func(o *options) { o.lib.redis = c }
}

// WithPrometheusRegisterer registers the BFF's metrics on r as well as on its own
// registry. When r is also a prometheus.Gatherer (a *prometheus.Registry, the default
// registerer), the admin handler's /metrics serves r: the application's metrics and the
// BFF's in one scrape; otherwise it serves the BFF's own registry. Server.Close
// unregisters them. Two servers on one registry need distinct constant labels
// (prometheus.WrapRegistererWith).
func WithPrometheusRegisterer(r prometheus.Registerer) Option {
	return func(o *options) { o.lib.registerer = r }
}

// errTwoStores: the configuration and an option (or two options) both name the store.
var errTwoStores = errors.New("bff: two session stores are named")

// injectedStore is the store an option gave, or nil when the configuration's is to be
// opened; an option that contradicts the configuration is refused, not silently chosen.
func injectedStore(ctx context.Context, cfg config.Session, o options, keys *session.KeyRing, log *slog.Logger) (session.Store, error) {
	lib := o.lib
	if lib.store == nil && lib.redis == nil {
		return nil, nil
	}
	if lib.store != nil && lib.redis != nil {
		return nil, fmt.Errorf("%w: WithStore and WithRedisClient; pass one of them", errTwoStores)
	}
	if cfg.Store == "redis" || cfg.RedisURL != "" {
		return nil, fmt.Errorf("%w: session.store/session.redisURL and WithStore or WithRedisClient; "+
			"unset session.store and session.redisURL, or drop the option", errTwoStores)
	}
	var st session.Store = borrowedStore{lib.store}
	if lib.store == nil {
		var err error
		// The Redis store does not close a client it was given.
		format, err := session.ParseRecordFormat(cfg.RecordFormat)
		if err != nil {
			return nil, fmt.Errorf("bff: %w", err)
		}
		st, err = session.NewRedis(ctx, session.Options{Client: lib.redis, Keys: keys, IdleTimeout: cfg.IdleTimeout, Now: o.now, RecordFormat: format})
		if err != nil {
			return nil, fmt.Errorf("bff: session store on the injected Redis client: %w", err)
		}
	}
	warnUnreachableInjected(ctx, st, log)
	return st, nil
}

// warnUnreachableInjected is warnUnreachableStore for a store or client the application
// gave: the BFF starts without it, but says so at once, naming the option to look at.
func warnUnreachableInjected(ctx context.Context, st session.Store, log *slog.Logger) {
	pctx, cancel := context.WithTimeout(ctx, startPingTimeout)
	defer cancel()
	if err := st.Ping(pctx); err != nil {
		log.Error("session store unreachable at start: /readyz answers 503 and requests that need a session "+
			"get 503 store_unavailable until it answers; check the store or Redis client passed to "+
			"bff.WithStore or bff.WithRedisClient", "err", err.Error())
	}
}

// borrowedStore is a store the application owns: Close leaves it open.
type borrowedStore struct{ session.Store }

// Close implements session.Store: the owner closes the store, not the BFF.
func (borrowedStore) Close() error { return nil }

// sharedLimits is the store's shared rate-limit budget, if it keeps one (the Redis and
// embedded stores do), looking through a borrowed store.
func sharedLimits(st session.Store) ratelimit.Shared {
	if b, ok := st.(borrowedStore); ok {
		st = b.Store
	}
	shared, _ := st.(ratelimit.Shared)
	return shared
}

// registerMetrics puts the BFF's instruments on the application's registerer, if any.
func (s *Server) registerMetrics(r prometheus.Registerer) error {
	if r == nil {
		return nil
	}
	if err := s.metrics.Register(r); err != nil {
		return fmt.Errorf("bff: WithPrometheusRegisterer: %w (another BFF on this registry? "+
			"wrap it per server with prometheus.WrapRegistererWith)", err)
	}
	s.registerer = r
	return nil
}

// unregisterMetrics takes them off again (Close), so that a new server can register.
func (s *Server) unregisterMetrics() {
	if s.registerer != nil {
		s.metrics.Unregister(s.registerer)
	}
}

// metricsHandler serves the application's registry when it can be gathered (the BFF's
// metrics are on it), else the BFF's own.
func (s *Server) metricsHandler() http.Handler {
	if g, ok := s.registerer.(prometheus.Gatherer); ok {
		return metrics.HandlerFor(g)
	}
	return s.metrics.Handler()
}
