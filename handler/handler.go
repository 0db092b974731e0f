package handler

import (
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/dpop"
	"github.com/tokenward/bff/idp"
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
	// AdminTokenFile holds the bearer secret of the admin kill-switch
	// (server.adminTokenFile; MountAdmin); "" leaves it off. New refuses a file that is
	// missing or holds too short a secret.
	AdminTokenFile string
}

// Deps are the collaborators of the handlers. All are required but Logger, Now, OnEnd,
// Metrics and Limiter.
type Deps struct {
	// IdP is the one provider of a configuration without oidc.providers; its sessions
	// carry no provider name. With IdPs set, it is ignored.
	IdP Provider
	// IdPs, when set, are several providers by name; DefaultIdP names the one /bff/login
	// uses without ?idp=, /readyz waits for, and that owns the records made before the
	// list existed (Record.Provider "").
	IdPs       []NamedProvider
	DefaultIdP string
	Store      session.Store
	Keys       *session.KeyRing
	Refresher  Refresher
	CSRF       *csrf.Checker
	Logger     *slog.Logger
	Now        func() time.Time
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
	// sessionIDs remembers what sessionCodec opened session cookies to (one decode per
	// cookie value, not per request).
	sessionIDs *session.CookieMemo
	// upstreamNonces are the upstreams' latest DPoP-Nonce values (RFC 9449 §9), by
	// origin, shared by every session's DPoP credential in this replica.
	upstreamNonces *dpop.Nonces
	// idps are the providers by name; "" is the default provider (the one provider of a
	// configuration without a list, or the owner of records made before it existed).
	idps map[string]Provider
	// issuers maps each named provider's issuer to its name (back-channel logout).
	issuers map[string]string
	// names lists the named providers in configured order (nil without a list).
	names []string
	// defaultIssuer is the default provider's issuer with a list ("" without): a record
	// that names no provider (made before the list existed) must come from it.
	defaultIssuer string
	// events are the replica's open session event streams (GET /bff/session/events).
	events *eventHub
	// adminToken checks the admin kill-switch's bearer secret; nil: the switch is off.
	adminToken *adminToken
}

// New checks the dependencies and builds the handlers.
func New(cfg Config, d Deps) (*Handlers, error) {
	idps, issuers, names, err := providerSet(&d)
	if err != nil {
		return nil, err
	}
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
	var admin *adminToken
	if cfg.AdminTokenFile != "" {
		if admin, err = newAdminToken(cfg.AdminTokenFile, d.Logger); err != nil {
			return nil, err
		}
	}
	codec := session.NewCookieCodec(d.Keys, cfg.AbsoluteTimeout)
	return &Handlers{
		adminToken:     admin,
		cfg:            cfg,
		d:              d,
		sessionCodec:   codec,
		sessionIDs:     session.NewCookieMemo(codec, 0),
		upstreamNonces: &dpop.Nonces{},
		idps:           idps,
		issuers:        issuers,
		names:          names,
		defaultIssuer:  defaultIssuer(d),
		events:         newEventHub(cfg.MaxEventStreams),
	}, nil
}

// providerSet indexes d's providers: by name (the default also as ""), by issuer, and
// their names in order. With IdPs, d.IdP becomes the default provider.
func providerSet(d *Deps) (map[string]Provider, map[string]string, []string, error) {
	if len(d.IdPs) == 0 {
		return map[string]Provider{"": d.IdP}, nil, nil, nil
	}
	idps := map[string]Provider{}
	issuers := map[string]string{}
	names := make([]string, 0, len(d.IdPs))
	for _, np := range d.IdPs {
		if np.Name == "" || np.IdP == nil || idps[np.Name] != nil {
			return nil, nil, nil, errors.New("handler: every provider needs a unique name and an IdP")
		}
		idps[np.Name] = np.IdP
		issuers[np.Issuer] = np.Name
		names = append(names, np.Name)
	}
	def, ok := idps[d.DefaultIdP]
	if !ok {
		return nil, nil, nil, errors.New("handler: DefaultIdP names no provider of IdPs")
	}
	idps[""], d.IdP = def, def
	return idps, issuers, names, nil
}

// defaultIssuer is the issuer of d's default provider among IdPs, "" without IdPs.
func defaultIssuer(d Deps) string {
	for _, np := range d.IdPs {
		if np.Name == d.DefaultIdP {
			return np.Issuer
		}
	}
	return ""
}

// ownProvider reports whether rec may be served by the provider it is assigned to. With
// oidc.providers, a record that names none was made before the list existed and is
// assigned to the default provider: only if its ID token names that provider's issuer
// (the operator may have made another provider the default since), else its tokens would
// go to a provider that never issued them.
func (h *Handlers) ownProvider(rec *session.Record) bool {
	if _, ok := h.provider(rec.Provider); !ok {
		return false
	}
	return rec.Provider != "" || h.defaultIssuer == "" || idp.StoredIDTokenOf(rec.IDToken, h.defaultIssuer)
}

// provider is the provider of name: without oidc.providers only "" names one (Deps.IdP);
// with them every configured name, and "" the default one.
func (h *Handlers) provider(name string) (Provider, bool) {
	if h.names == nil || name == "" {
		return h.d.IdP, name == "" && h.d.IdP != nil
	}
	p, ok := h.idps[name]
	return p, ok
}

// sessionIdP is the provider of rec, which lookup has checked is configured.
func (h *Handlers) sessionIdP(rec *session.Record) Provider {
	p, _ := h.provider(rec.Provider)
	return p
}
