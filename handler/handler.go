package handler

import (
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/dpop"
	"github.com/tokenward/bff/ratelimit"
	"github.com/tokenward/bff/session"
)

// Config is what the handlers need; bff.New assembles it from config.Config.
type Config struct {
	// PublicURL is the origin browsers use.
	PublicURL *url.URL
	// PostLogoutPath is where the browser lands after logout (same origin).
	PostLogoutPath string
	// IdleTimeout and AbsoluteTimeout of sessions.
	IdleTimeout, AbsoluteTimeout time.Duration
	// CookieName of the session cookie; SameSite is "strict" or "lax".
	CookieName, SameSite string
	// LoginTimeout bounds a login in progress; MaxPendingLogins caps how many one browser
	// may have at once (the newest are kept).
	LoginTimeout     time.Duration
	MaxPendingLogins int
	// BackchannelReplayTTL is how long a logout token's jti is remembered. Default 10m.
	BackchannelReplayTTL time.Duration
	// TrustedProxies are the peers whose X-Forwarded-* headers are believed.
	TrustedProxies []netip.Prefix
	// ForwardAuth turns /bff/auth on (for TrustedProxies only).
	ForwardAuth bool
	// ForwardAuthUser, ForwardAuthEmail and ForwardAuthUsername name the headers of
	// /bff/auth's 200 that carry the subject, email and preferred_username
	// (server.forwardAuthHeaders); "" sends none.
	ForwardAuthUser, ForwardAuthEmail, ForwardAuthUsername string
	// MaxEventStreams bounds the replica's open session event streams
	// (server.maxEventStreams; 0: DefaultMaxEventStreams). ExpiryWarning is how long
	// before its end a session's streams get an expiring event (session.expiryWarning; 0:
	// none).
	MaxEventStreams int
	ExpiryWarning   time.Duration
}

// Deps are the collaborators of the handlers. All are required but Logger, Now, OnEnd,
// Metrics and Limiter.
type Deps struct {
	IdP       Provider
	Store     session.Store
	Keys      *session.KeyRing
	Refresher Refresher
	CSRF      *csrf.Checker
	Logger    *slog.Logger
	Now       func() time.Time
	// OnEnd is told the id hashes of sessions that ended here (logout, back-channel
	// logout), so that their live streams can be cut.
	OnEnd func(idHashes []string)
	// Metrics counts logins, sessions, refused cookies and back-channel logouts (nil: none).
	Metrics Recorder
	// Limiter bounds /bff/login and /bff/callback per client IP (nil: no limit).
	Limiter *ratelimit.Limiter
}

// Handlers serves /bff/* and the admin endpoints.
type Handlers struct {
	cfg          Config
	d            Deps
	sessionCodec *session.CookieCodec
	// upstreamNonces are the upstreams' latest DPoP-Nonce values (RFC 9449 §9), by
	// origin, shared by every session's DPoP credential in this replica.
	upstreamNonces *dpop.Nonces
	// events are the replica's open session event streams (GET /bff/session/events).
	events *eventHub
}

// New checks the dependencies and builds the handlers.
func New(cfg Config, d Deps) (*Handlers, error) {
	if d.IdP == nil || d.Store == nil || d.Keys == nil || d.Refresher == nil || d.CSRF == nil || cfg.PublicURL == nil {
		return nil, errors.New("handler: IdP, Store, Keys, Refresher, CSRF and PublicURL are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = noRecorder{}
	}
	if d.OnEnd == nil {
		d.OnEnd = func([]string) {}
	}
	if cfg.BackchannelReplayTTL <= 0 {
		cfg.BackchannelReplayTTL = 10 * time.Minute
	}
	if cfg.MaxPendingLogins <= 0 {
		cfg.MaxPendingLogins = 5
	}
	return &Handlers{
		cfg:            cfg,
		d:              d,
		sessionCodec:   session.NewCookieCodec(d.Keys, cfg.AbsoluteTimeout),
		upstreamNonces: &dpop.Nonces{},
		events:         newEventHub(cfg.MaxEventStreams),
	}, nil
}
