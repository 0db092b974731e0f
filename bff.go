// Package bff assembles the Tokenward BFF: New builds the whole server from a
// config.Config — session store, relying party, refresher, handlers, proxy routes and the
// SPA — and Run serves it with graceful shutdown. It is the library entry point; cmd/bff is
// a thin CLI over it.
package bff

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tokenward/bff/clientip"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/handler"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/proxy"
	"github.com/tokenward/bff/ratelimit"
	"github.com/tokenward/bff/refresh"
	"github.com/tokenward/bff/session"
	"github.com/tokenward/bff/tracing"
)

// Option adjusts New.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	spa        fs.FS
	now        func() time.Time
	httpClient *http.Client
	transport  http.RoundTripper
	wrap       func(http.Handler) http.Handler
	lib        library // what an embedding application injects (library.go)
}

// WithLogger sets the logger (default: JSON to stderr at the configured level).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithSPA serves the SPA from fsys (e.g. an embed.FS), overriding spa.dir.
func WithSPA(fsys fs.FS) Option { return func(o *options) { o.spa = fsys } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithIdPClient sets the HTTP client for the IdP (it must not follow redirects and must
// bound bodies, as idp.NewHTTPClient does).
func WithIdPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithUpstreamTransport sets the base transport of the proxy routes (tests, benchmarks).
func WithUpstreamTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithPublicWrap puts wrap around the public handler, inside the request-framing guard
// (e.g. the demo's redirect of a loopback alias to its public URL).
func WithPublicWrap(wrap func(http.Handler) http.Handler) Option {
	return func(o *options) { o.wrap = wrap }
}

// Server is one BFF replica.
type Server struct {
	observe handler.Observer
	metrics *metrics.Metrics
	tracing *tracing.Tracing
	cfg     config.Config
	log     *slog.Logger
	store   session.Store
	idp     countedIdP // the default provider (the one, without oidc.providers)
	// idps are every provider by name, in configured order (one, named "", without
	// oidc.providers).
	idps     []namedIdP
	proxy    *proxy.Proxy
	handlers *handler.Handlers
	public   http.Handler
	admin    http.Handler
	limits   ratelimit.Shared
	draining atomic.Bool
	cancel   context.CancelFunc
	// registerer is the application's Prometheus registerer (WithPrometheusRegisterer).
	registerer prometheus.Registerer
	// refresher is drained at shutdown: a refresh the IdP answered is saved before exit.
	refresher *refresh.Refresher
}

// New builds a Server from a validated configuration. It connects to the session store
// (or starts the embedded one) and starts OIDC discovery in the background: an IdP that is
// down at start does not stop the BFF from starting (/readyz says not ready until it is up).
func New(ctx context.Context, cfg config.Config, opts ...Option) (*Server, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	cfg.Routes = append([]config.Route(nil), cfg.Routes...)
	for i := range cfg.Routes {
		cfg.Routes[i] = cfg.Routes[i].WithDefaults()
	}
	if err := config.Validate(cfg); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: o.logger}
	if s.log == nil {
		s.log = NewLogger(os.Stderr, cfg.Log)
	}
	if err := s.build(ctx, o); err != nil {
		if s.store != nil {
			_ = s.store.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) build(ctx context.Context, o options) error {
	cfg := s.cfg
	// The SPA first: a wrong spa.dir is refused before anything connects or starts.
	spa, err := spaHandler(cfg.SPA, o.spa)
	if err != nil {
		return err
	}
	keys, err := session.ParseKeys(cfg.Session.Keys)
	if err != nil {
		return fmt.Errorf("bff: session keys: %w", err)
	}
	if err := s.buildTelemetry(ctx); err != nil {
		return err
	}
	st, err := injectedStore(ctx, cfg.Session, o, keys, s.log)
	if err == nil && st == nil {
		st, err = openStore(ctx, cfg.Session, keys, o.now, s.log)
	}
	if err != nil {
		return err
	}
	// The metrics see the real store operations; the cache in front of them serves
	// repeated reads of one session (session.cacheTTL), longer (session.coherentCacheTTL)
	// while its Watch below hears the store's announcements.
	s.store = session.NewCachedWith(metrics.InstrumentStore(st, s.metrics), session.CacheOptions{
		TTL: cfg.Session.CacheTTL, CoherentTTL: cfg.Session.CoherentCacheTTL, IdleTimeout: cfg.Session.IdleTimeout,
		MaxEntries: cfg.Session.CacheMaxEntries, Now: o.now,
	})
	// The login rate limit keeps its budgets in the same Redis (or embedded miniredis),
	// so that every replica shares one budget per client.
	s.limits = sharedLimits(st)
	if o.httpClient == nil && s.tracing.Enabled() {
		o.httpClient = idp.NewHTTPClient(cfg.OIDC.HTTPTimeout)
		o.httpClient.Transport = s.tracing.Transport(o.httpClient.Transport)
	}
	if err := s.buildProviders(o); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	for _, n := range s.idps {
		n.p.Start(bg) // each discovers on its own: one down holds up no other
	}
	public, _ := url.Parse(cfg.Server.PublicURL)
	if err := s.buildHandlers(o, keys, public); err != nil {
		return err
	}
	if err := s.buildProxy(o, public); err != nil {
		return err
	}
	// This is the cached store's first Watch: it makes the cache coherent (the long TTL
	// only after this subscription's EventResubscribed, and while it hears its probes).
	s.store.Watch(bg, func(ev session.Event) {
		if ev.Kind == session.EventEnded {
			s.proxy.CloseSession(ev.IDHash)
		}
		s.handlers.SessionEvent(ev) // the session event streams (GET /bff/session/events)
	})
	go s.sweepStreams(bg, streamSweepInterval(cfg.Session.IdleTimeout))
	h := s.tracing.Middleware(s.publicHandler(spa))
	if o.wrap != nil {
		h = o.wrap(h)
	}
	s.public = guardFraming(h, cfg.Server.BodyReadTimeout)
	if err := s.registerMetrics(o.lib.registerer); err != nil {
		return err
	}
	s.admin = s.adminHandler() // after registerMetrics: /metrics serves the registry it chose
	return nil
}

// buildTelemetry sets up the metrics (always: they live on the admin listener) and the
// tracing (only when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise it costs nothing).
func (s *Server) buildTelemetry(ctx context.Context) error {
	names := make([]string, 0, len(s.cfg.Routes))
	for _, r := range s.cfg.Routes {
		names = append(names, r.Name)
	}
	s.metrics = metrics.New(metrics.WithRoutes(names...), metrics.WithProviders(s.cfg.OIDC.ProviderNames()...), metrics.WithLabels(metrics.Labels{
		Login: handler.LoginOutcomes(), Refresh: refresh.Outcomes(), UserInfo: idp.UserInfoOutcomes(),
		Backchannel: handler.BackchannelOutcomes(), Rejected: handler.RejectedReasons(),
	}))
	s.observe = s.metrics.ObserveHTTP
	tr, err := tracing.Setup(ctx, "bff", os.Getenv, tracing.WithRouteName(s.routeName))
	if err != nil {
		return fmt.Errorf("bff: tracing: %w", err)
	}
	s.tracing = tr
	return nil
}

func (s *Server) buildHandlers(o options, keys *session.KeyRing, public *url.URL) error {
	cfg := s.cfg
	ref, err := refresh.New(refresh.Config{
		Store: s.store, IdP: s.idp, IdPs: s.refreshIdPs(), DefaultIssuer: s.defaultIssuer(),
		Skew: cfg.OIDC.RefreshSkew, Now: o.now, Logger: s.log,
		ForcedCooldown: cfg.OIDC.ForcedRefreshCooldown, Observe: s.refreshed,
	})
	if err != nil {
		return err
	}
	s.refresher = ref
	hc := handlerConfig(cfg, public)
	if hc.TrustedProxies, err = handler.ParseTrustedProxies(cfg.Server.TrustedProxies); err != nil {
		return fmt.Errorf("bff: server.trustedProxies: %w", err)
	}
	lim, err := s.newLimiter(hc.TrustedProxies, public, o.now)
	if err != nil {
		return err
	}
	s.handlers, err = handler.New(hc, handler.Deps{
		IdP: s.idp, IdPs: s.handlerIdPs(), DefaultIdP: cfg.OIDC.DefaultIdP(),
		Store: s.store, Keys: keys, Refresher: ref, Logger: s.log, Now: o.now,
		CSRF:    csrf.New(cfg.CSRF.HeaderName, public),
		OnEnd:   s.sessionsEnded,
		Metrics: s.metrics, Limiter: lim,
	})
	return err
}

// newLimiter is the per-client-IP login limit, or nil when rateLimit.perMinute is 0. Its
// budgets live in the session store (shared by the replicas of this public URL).
func (s *Server) newLimiter(trusted []netip.Prefix, public *url.URL, now func() time.Time) (*ratelimit.Limiter, error) {
	c := s.cfg.RateLimit
	if c.PerMinute == 0 {
		return nil, nil
	}
	lim, err := ratelimit.New(ratelimit.Config{
		Rate: rate.Limit(float64(c.PerMinute) / 60), Burst: c.Burst, TrustedProxies: trusted, Now: now,
		Shared: s.limits, Scope: public.String(), Logger: s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("bff: rateLimit: %w", err)
	}
	return lim, nil
}

func (s *Server) buildProxy(o options, public *url.URL) error {
	trusted, err := clientip.ParsePrefixes(s.cfg.Server.TrustedProxies)
	if err != nil {
		return fmt.Errorf("bff: server.trustedProxies: %w", err)
	}
	s.proxy, err = proxy.New(proxy.Options{
		Routes: proxyRoutes(s.cfg.Routes), PublicURL: public, Credentials: s.handlers.Credentials,
		TrustedProxies: trusted,
		OwnCookies:     handler.OwnsCookie(s.cfg.Session.CookieName),
		Logger:         s.log, Transport: o.transport,
		WrapTransport:   s.tracing.Transport,
		ObserveUpstream: s.metrics.ObserveUpstream,
	})
	if err != nil {
		return fmt.Errorf("bff: routes: %w", err)
	}
	s.metrics.SetLiveStreams(func() float64 { return float64(s.proxy.LiveStreams()) })
	return nil
}

// refreshed counts a refresh outcome; invalid_grant also ends the session.
func (s *Server) refreshed(outcome string) {
	s.metrics.Refresh(outcome)
	if outcome == refresh.OutcomeInvalidGrant {
		s.metrics.SessionEnded(metrics.EndedInvalidGrant, 1)
	}
}

// routeName names a request before routing (span names): the /bff/* endpoint, the
// proxied route, or the SPA.
func (s *Server) routeName(r *http.Request) string {
	if name := handler.RouteName(r.URL.Path); name != "other" {
		return name
	}
	if h, ok := s.proxy.Match(r); ok {
		return proxy.RouteName(h)
	}
	return "spa"
}

func openStore(ctx context.Context, c config.Session, keys *session.KeyRing, now func() time.Time, log *slog.Logger) (session.Store, error) {
	format, err := session.ParseRecordFormat(c.RecordFormat)
	if err != nil {
		return nil, fmt.Errorf("bff: %w", err)
	}
	opts := session.Options{Keys: keys, IdleTimeout: c.IdleTimeout, Now: now, RecordFormat: format}
	if c.Store == "redis" {
		opts.URL = c.RedisURL
		st, err := session.NewRedis(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("bff: session store: %w", err)
		}
		warnUnreachableStore(ctx, st, c.RedisURL, log)
		return st, nil
	}
	log.Warn("using the embedded session store: sessions are lost on restart and not shared between replicas; set session.store=redis for production")
	st, err := session.NewEmbedded(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("bff: embedded session store: %w", err)
	}
	return st, nil
}

// startPingTimeout bounds the store check at start: long enough for a Redis across a
// network, short enough that a dead one does not delay the start noticeably.
const startPingTimeout = 3 * time.Second

// warnUnreachableStore pings the store once at start. The BFF starts without it (the
// client reconnects by itself, as after a Redis restart), but the operator must learn
// at once, not from the first user: an error line names the URL (without its password)
// and what follows until the store answers.
func warnUnreachableStore(ctx context.Context, st session.Store, redisURL string, log *slog.Logger) {
	pctx, cancel := context.WithTimeout(ctx, startPingTimeout)
	defer cancel()
	if err := st.Ping(pctx); err != nil {
		log.Error("session store unreachable at start: /readyz answers 503 and requests that need a session "+
			"get 503 store_unavailable until it answers; start Redis or fix session.redisURL",
			"redis", session.RedactRedisURL(redisURL), "err", err.Error())
	}
}

// idpConfig is the relying-party configuration of cfg (used by New and DiscoverIdP).
func idpConfig(cfg config.Config) (idp.Config, error) {
	ic := idp.Config{
		Issuer: cfg.OIDC.Issuer, ClientID: cfg.OIDC.ClientID, ClientSecret: cfg.OIDC.ClientSecret,
		Scopes: cfg.OIDC.Scopes, AuthStyle: cfg.OIDC.TokenEndpointAuth,
		RedirectURL: cfg.RedirectURL(), PostLogoutRedirectURL: cfg.PostLogoutURL(),
		AuthParams: cfg.OIDC.AuthParams, Timeout: cfg.OIDC.HTTPTimeout,
		AllowInsecureIssuer: cfg.AllowHTTPIssuer(), PushedAuthorization: cfg.OIDC.PushedAuthorization,
		MaxTokenAge: cfg.OIDC.MaxTokenAge, ClientKeyID: cfg.OIDC.ClientKeyID,
		ClientAssertionAudience: cfg.OIDC.ClientAssertionAudience,
		DPoP:                    cfg.OIDC.DPoP, DPoPAlgorithm: cfg.OIDC.DPoPAlgorithm,
		UserInfo: cfg.OIDC.UserInfo,
	}
	if cfg.OIDC.ClientKey != "" {
		key, err := config.ParsePrivateKey(cfg.OIDC.ClientKey)
		if err != nil {
			return ic, fmt.Errorf("oidc.clientKey: %w", err)
		}
		ic.ClientKey = key
	}
	if cfg.OIDC.ClientCert != "" {
		cert, err := config.ParseCertificate(cfg.OIDC.ClientCert)
		if err != nil {
			return ic, fmt.Errorf("oidc.clientCert: %w", err)
		}
		ic.ClientCert = cert
	}
	return ic, nil
}

func newProvider(cfg config.Config, o options, log *slog.Logger, observeUserInfo func(string)) (*idp.Provider, error) {
	ic, err := idpConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("bff: %w", err)
	}
	ic.HTTPClient, ic.Now, ic.Logger = o.httpClient, o.now, log
	ic.ObserveUserInfo = observeUserInfo
	p, err := idp.New(ic)
	if err != nil {
		return nil, fmt.Errorf("bff: oidc: %w", err)
	}
	return p, nil
}

// namedIdP is one configured provider and its relying party.
type namedIdP struct {
	name, issuer string
	p            countedIdP
}

// buildProviders makes the relying party of every configured provider (each from the
// oidc block with its entry's keys, config.OIDC.IdPs) and picks the default.
func (s *Server) buildProviders(o options) error {
	def := s.cfg.OIDC.DefaultIdP()
	for _, n := range s.cfg.OIDC.IdPs() {
		pc := s.cfg
		pc.OIDC = n.OIDC
		name := n.Name
		p, err := newProvider(pc, o, s.log.With("provider", n.Name), func(outcome string) { s.metrics.UserInfo(name, outcome) })
		if err != nil {
			if n.Name != "" {
				return fmt.Errorf("bff: provider %q: %w", n.Name, err)
			}
			return err
		}
		c := countedIdP{Provider: p, name: n.Name, m: s.metrics}
		s.idps = append(s.idps, namedIdP{name: n.Name, issuer: n.OIDC.Issuer, p: c})
		s.metrics.SetProviderReady(n.Name, p.Ready)
		if n.Name == def {
			s.idp = c
		}
	}
	return nil
}

// refreshIdPs is the refresher's provider lookup with oidc.providers (nil without: its
// IdP is the one): every provider by name, and the default as "" for the records made
// before the list existed.
func (s *Server) refreshIdPs() map[string]refresh.TokenRefresher {
	if s.cfg.OIDC.DefaultIdP() == "" {
		return nil
	}
	m := map[string]refresh.TokenRefresher{"": s.idp}
	for _, n := range s.idps {
		m[n.name] = n.p
	}
	return m
}

// defaultIssuer is the default provider's issuer with oidc.providers ("" without: the one
// provider's records name none, and are all its own).
func (s *Server) defaultIssuer() string {
	for _, n := range s.idps {
		if n.name != "" && n.name == s.cfg.OIDC.DefaultIdP() {
			return n.issuer
		}
	}
	return ""
}

// handlerIdPs are the handlers' named providers (nil without oidc.providers).
func (s *Server) handlerIdPs() []handler.NamedProvider {
	if s.cfg.OIDC.DefaultIdP() == "" {
		return nil
	}
	out := make([]handler.NamedProvider, 0, len(s.idps))
	for _, n := range s.idps {
		out = append(out, handler.NamedProvider{Name: n.name, Issuer: n.issuer, IdP: n.p})
	}
	return out
}

func handlerConfig(cfg config.Config, public *url.URL) handler.Config {
	return handler.Config{
		PublicURL: public, PostLogoutPath: cfg.OIDC.PostLogoutRedirect,
		IdleTimeout: cfg.Session.IdleTimeout, AbsoluteTimeout: cfg.Session.AbsoluteTimeout,
		CookieName: cfg.Session.CookieName, SameSite: cfg.Session.SameSite,
		LoginTimeout: cfg.Session.LoginTimeout, MaxPendingLogins: cfg.Session.MaxPendingLogins,
		ForwardAuth:     cfg.Server.ForwardAuth,
		ForwardAuthUser: cfg.Server.ForwardAuthHeaders.User, ForwardAuthEmail: cfg.Server.ForwardAuthHeaders.Email,
		ForwardAuthUsername: cfg.Server.ForwardAuthHeaders.PreferredUsername,
		MaxEventStreams:     cfg.Server.MaxEventStreams, ExpiryWarning: cfg.Session.ExpiryWarning,
		AdminTokenFile: cfg.Server.AdminTokenFile,
	}
}

// Handler is the public listener's handler. Serve and Run also watch the request framing
// of every public connection (internal/framing) and apply server.maxHeaderBytes; an
// http.Server of the caller's own that serves Handler does neither.
func (s *Server) Handler() http.Handler { return s.public }

// AdminHandler serves /healthz, /readyz and /metrics, and with server.adminTokenFile the
// admin kill-switch (/admin/subjects/{sub}/sessions).
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Ready reports whether the store answers and discovery is done (what /readyz says).
func (s *Server) Ready(ctx context.Context) error {
	if err := s.idp.Ready(); err != nil {
		return err
	}
	return s.store.Ping(ctx)
}

// Close stops background work and closes the store. Run calls it on shutdown.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.tracing.Shutdown(ctx); err != nil {
		s.log.Warn("flushing traces failed", "err", err)
	}
	s.proxy.CloseAll()
	s.handlers.CloseEvents()
	s.unregisterMetrics()
	return s.store.Close()
}
