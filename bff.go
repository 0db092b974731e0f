// Package bff assembles the Tokenward BFF: New builds the whole server from a
// config.Config — session store, relying party, refresher, handlers, proxy routes and the
// SPA — and Run serves it with graceful shutdown. It is the library entry point; cmd/bff is
// a thin CLI over it.
package bff

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/handler"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/proxy"
	"github.com/tokenward/bff/refresh"
	"github.com/tokenward/bff/session"
)

// Option adjusts New.
type Option func(*options)

type options struct {
	logger     *slog.Logger
	spa        fs.FS
	now        func() time.Time
	httpClient *http.Client
	transport  http.RoundTripper
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

// Server is one BFF replica.
type Server struct {
	observe  handler.Observer
	cfg      config.Config
	log      *slog.Logger
	store    session.Store
	idp      *idp.Provider
	proxy    *proxy.Proxy
	handlers *handler.Handlers
	public   http.Handler
	admin    http.Handler
	draining atomic.Bool
	cancel   context.CancelFunc
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
	keys, err := session.ParseKeys(cfg.Session.Keys)
	if err != nil {
		return fmt.Errorf("bff: session keys: %w", err)
	}
	if s.store, err = openStore(ctx, cfg.Session, keys, o.now, s.log); err != nil {
		return err
	}
	if s.idp, err = newProvider(cfg, o, s.log); err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.idp.Start(bg)
	ref, err := refresh.New(refresh.Config{
		Store: s.store, IdP: s.idp, Skew: cfg.OIDC.RefreshSkew, Now: o.now, Logger: s.log,
	})
	if err != nil {
		return err
	}
	public, _ := url.Parse(cfg.Server.PublicURL)
	hc := handlerConfig(cfg, public)
	if hc.TrustedProxies, err = handler.ParseTrustedProxies(cfg.Server.TrustedProxies); err != nil {
		return fmt.Errorf("bff: server.trustedProxies: %w", err)
	}
	if s.handlers, err = handler.New(hc, handler.Deps{
		IdP: s.idp, Store: s.store, Keys: keys, Refresher: ref, Logger: s.log, Now: o.now,
		CSRF:  csrf.New(cfg.CSRF.HeaderName, public),
		OnEnd: s.sessionsEnded,
	}); err != nil {
		return err
	}
	if s.proxy, err = proxy.New(proxy.Options{
		Routes: cfg.Routes, PublicURL: public, Token: s.handlers.AccessToken,
		SessionKey: s.handlers.SessionKey, OwnCookies: handler.OwnsCookie(cfg.Session.CookieName),
		Logger: s.log, Transport: o.transport,
	}); err != nil {
		return fmt.Errorf("bff: routes: %w", err)
	}
	s.store.WatchEnded(bg, func(h string) { s.proxy.CloseSession(h) })
	go s.sweepStreams(bg, streamSweepInterval(cfg.Session.IdleTimeout))
	spa, err := spaHandler(cfg.SPA, o.spa)
	if err != nil {
		return err
	}
	s.public = s.publicHandler(public, spa)
	s.admin = s.adminHandler()
	return nil
}

func openStore(ctx context.Context, c config.Session, keys *session.KeyRing, now func() time.Time, log *slog.Logger) (session.Store, error) {
	opts := session.Options{Keys: keys, IdleTimeout: c.IdleTimeout, Now: now}
	if c.Store == "redis" {
		opts.URL = c.RedisURL
		st, err := session.NewRedis(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("bff: session store: %w", err)
		}
		return st, nil
	}
	log.Warn("using the embedded session store: sessions are lost on restart and not shared between replicas; set session.store=redis for production")
	st, err := session.NewEmbedded(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("bff: embedded session store: %w", err)
	}
	return st, nil
}

// IdPConfig is the relying-party configuration of cfg (used by New and by `bff check`).
func IdPConfig(cfg config.Config) idp.Config {
	return idp.Config{
		Issuer: cfg.OIDC.Issuer, ClientID: cfg.OIDC.ClientID, ClientSecret: cfg.OIDC.ClientSecret,
		Scopes: cfg.OIDC.Scopes, AuthStyle: cfg.OIDC.TokenEndpointAuth,
		RedirectURL: cfg.RedirectURL(), PostLogoutRedirectURL: cfg.PostLogoutURL(),
		AuthParams: cfg.OIDC.AuthParams, Timeout: cfg.OIDC.HTTPTimeout,
		AllowInsecureIssuer: cfg.AllowHTTPIssuer(),
	}
}

func newProvider(cfg config.Config, o options, log *slog.Logger) (*idp.Provider, error) {
	ic := IdPConfig(cfg)
	ic.HTTPClient, ic.Now, ic.Logger = o.httpClient, o.now, log
	p, err := idp.New(ic)
	if err != nil {
		return nil, fmt.Errorf("bff: oidc: %w", err)
	}
	return p, nil
}

func handlerConfig(cfg config.Config, public *url.URL) handler.Config {
	return handler.Config{
		PublicURL: public, PostLogoutPath: cfg.OIDC.PostLogoutRedirect,
		IdleTimeout: cfg.Session.IdleTimeout, AbsoluteTimeout: cfg.Session.AbsoluteTimeout,
		CookieName: cfg.Session.CookieName, SameSite: cfg.Session.SameSite,
		LoginTimeout: cfg.Session.LoginTimeout, MaxPendingLogins: cfg.Session.MaxPendingLogins,
	}
}

// sessionsEnded cuts the live streams of sessions that ended here at once, and tells the
// other replicas through the store so that they cut theirs (WatchEnded in build).
func (s *Server) sessionsEnded(idHashes []string) {
	for _, h := range idHashes {
		s.proxy.CloseSession(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.store.PublishEnded(ctx, idHashes); err != nil {
		s.log.Warn("announcing ended sessions to the other replicas failed", "err", err)
	}
}

// streamSweepInterval is how often live streams' sessions are checked: often enough that
// an idle timeout cannot pass unnoticed, at most every 30 s.
func streamSweepInterval(idle time.Duration) time.Duration {
	return min(max(idle/3, 100*time.Millisecond), 30*time.Second)
}

// sweepStreams keeps the sessions of live streams alive (a stream is activity) and cuts
// the streams of sessions that are gone: expired, or ended while this replica missed the
// announcement. A store that cannot answer cuts nothing.
func (s *Server) sweepStreams(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, h := range s.proxy.StreamSessions() {
			tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			alive, err := s.store.Touch(tctx, h)
			cancel()
			if err == nil && !alive {
				s.proxy.CloseSession(h)
			}
		}
	}
}

// Handler is the public listener's handler.
func (s *Server) Handler() http.Handler { return s.public }

// AdminHandler serves /healthz, /readyz and /metrics.
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
	s.proxy.CloseAll()
	return s.store.Close()
}

// Run serves the public and admin listeners of the configuration until ctx ends, then
// shuts down gracefully within server.shutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	pub, err := net.Listen("tcp", s.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("bff: public listener: %w", err)
	}
	adm, err := net.Listen("tcp", s.cfg.Server.AdminListen)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("bff: admin listener: %w", err)
	}
	return s.Serve(ctx, pub, adm)
}

// Serve is Run on listeners the caller opened (tests, socket activation).
func (s *Server) Serve(ctx context.Context, pub, adm net.Listener) error {
	defer s.Close()
	psrv := newHTTPServer(s.public)
	asrv := newHTTPServer(s.admin)
	errc := make(chan error, 2)
	go func() { errc <- psrv.Serve(pub) }()
	go func() { errc <- asrv.Serve(adm) }()
	s.log.Info("bff listening", "public", pub.Addr().String(), "admin", adm.Addr().String(), "publicURL", s.cfg.Server.PublicURL)
	select {
	case err := <-errc:
		_ = psrv.Close()
		_ = asrv.Close()
		return fmt.Errorf("bff: serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down", "timeout", s.cfg.Server.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Server.ShutdownTimeout)
	defer cancel()
	// Streams never finish on their own: cut them so Shutdown can complete.
	s.proxy.CloseAll()
	err := psrv.Shutdown(sctx)
	if err != nil {
		_ = psrv.Close() // the deadline passed: cut what is left
	}
	// The admin listener goes last, so probes see "not ready" while the public one drains.
	_ = asrv.Shutdown(sctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bff: shutdown: %w", err)
	}
	s.log.Info("shut down")
	return nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// publicHandler is the echo stack: /bff/* endpoints, then routes, then the SPA.
func (s *Server) publicHandler(public *url.URL, spa http.Handler) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Pre(handler.Observe(s.log, s.observe), handler.RejectH2C)
	s.handlers.Mount(e)
	check := csrf.New(s.cfg.CSRF.HeaderName, public)
	e.Any("/*", func(c echo.Context) error {
		r := c.Request()
		if h, ok := s.proxy.Match(r); ok {
			handler.SetRoute(r, proxy.RouteName(h))
			if err := check.Check(r); err != nil {
				return err
			}
			h.ServeHTTP(c.Response(), handler.WithTokenHolder(c.Response(), r))
			return nil
		}
		handler.SetRoute(r, "spa")
		spa.ServeHTTP(c.Response(), r)
		return nil
	})
	return e
}

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handler.Health)
	mux.HandleFunc("GET /readyz", s.handlers.Ready(s.draining.Load))
	return mux
}

func spaHandler(c config.SPA, embedded fs.FS) (http.Handler, error) {
	switch {
	case embedded != nil:
		return handler.SPAFiles(embedded), nil
	case c.Upstream != "":
		u, err := url.Parse(c.Upstream)
		if err != nil {
			return nil, fmt.Errorf("bff: spa.upstream: %w", err)
		}
		return handler.SPAUpstream(u), nil
	case c.Dir != "":
		return handler.SPAFiles(os.DirFS(c.Dir)), nil
	default:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}), nil
	}
}
