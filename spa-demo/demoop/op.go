package demoop

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Paths the OP serves besides the library's endpoints.
const (
	discoveryPath = oidc.DiscoveryEndpoint // "/.well-known/openid-configuration"
	loginPath     = "/login"
	loggedOutPath = "/logged-out"

	loginParamRequestID = "authRequestID"

	// maxRequestBody bounds every request body the OP reads.
	maxRequestBody = 64 << 10
)

// OP is an in-process OpenID provider. All its methods are safe for concurrent use.
type OP struct {
	cfg       Config
	issuer    string
	secure    bool // https issuer: cookies are Secure
	keys      *keyRing
	clients   map[string]*opClient
	redirects map[string]bool // scheme://host/path of every registered redirect URI
	store     *storage
	provider  *op.Provider
	discovery []byte
	backHTTP  *http.Client
	log       *slog.Logger
	handler   http.Handler

	stats       counters
	tokenStatus atomic.Int32
}

// Stats counts what the OP did since New.
type Stats struct {
	AuthCodeGrants       int // successful authorization code exchanges
	RefreshGrants        int // successful refresh_token grants (each one a rotation)
	RefreshReuseDetected int // presentations of an already rotated refresh token
	Revocations          int // RFC 7009 revocations of a known token
	EndSessions          int // valid RP-initiated logout requests
	OutageAnswers        int // token requests refused by SetTokenEndpointStatus's outage
}

type counters struct {
	authCodeGrants, refreshGrants, refreshReuseDetected, revocations, endSessions, outageAnswers atomic.Int64
}

// New builds an OP for cfg and generates its RSA-2048 signing key. The OP is ready as
// soon as its Handler is served at cfg.Issuer.
func New(cfg Config) (*OP, error) {
	return newOP(cfg, newSigningKey)
}

// newOP is New with the key source as a parameter (tests share one generated key).
func newOP(cfg Config, makeKey func() (*signingKey, error)) (*OP, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("demoop: invalid config: %w", err)
	}
	key, err := makeKey()
	if err != nil {
		return nil, fmt.Errorf("demoop: %w", err)
	}
	issuer, _ := url.Parse(cfg.Issuer) // validated
	o := &OP{
		cfg:      cfg,
		issuer:   cfg.Issuer,
		secure:   issuer.Scheme == "https",
		keys:     newKeyRing(key),
		backHTTP: withoutRedirects(cfg.HTTPClient),
		log:      cfg.Logger,
	}
	o.clients, o.redirects = indexClients(cfg.Clients)
	o.store = newStorage(cfg, o.keys, o.clients, &o.stats)
	if o.provider, err = o.newProvider(); err != nil {
		return nil, fmt.Errorf("demoop: provider: %w", err)
	}
	if o.discovery, err = o.buildDiscovery(); err != nil {
		return nil, fmt.Errorf("demoop: discovery: %w", err)
	}
	o.handler = o.routes()
	return o, nil
}

func indexClients(clients []Client) (map[string]*opClient, map[string]bool) {
	byID := make(map[string]*opClient, len(clients))
	redirects := make(map[string]bool)
	for _, c := range clients {
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
		byID[c.ID] = &opClient{Client: c, loginPath: loginPath}
		for _, raw := range c.RedirectURIs {
			if u, err := url.Parse(raw); err == nil {
				redirects[endpointKey(u)] = true
			}
		}
	}
	return byID, redirects
}

// endpointKey identifies a URL without its query and fragment.
func endpointKey(u *url.URL) string { return u.Scheme + "://" + u.Host + u.Path }

func (o *OP) newProvider() (*op.Provider, error) {
	config := &op.Config{
		DefaultLogoutRedirectURI:          loggedOutPath,
		CodeMethodS256:                    true,
		AuthMethodPost:                    true,
		AuthMethodPrivateKeyJWT:           true,
		GrantTypeRefreshToken:             true,
		SupportedScopes:                   []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
		SupportedClaims:                   append(slices.Clone(op.DefaultSupportedClaims), claimSID),
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
	}
	// The library derives each authorization code by encrypting the auth request id
	// under this key (AES-256-GCM); a fresh key per OP.
	if _, err := rand.Read(config.CryptoKey[:]); err != nil {
		return nil, fmt.Errorf("crypto key: %w", err)
	}
	// No CORS: the BFF talks to the OP server to server; browsers only navigate to it.
	opts := []op.Option{op.WithCORSOptions(nil)}
	if !o.secure {
		opts = append(opts, op.WithAllowInsecure()) // loopback only, checked by validateIssuer
	}
	return op.NewProvider(config, o.store, op.StaticIssuer(o.issuer), opts...)
}

// Handler serves discovery, authorize (+ its login page and callback), token, revoke,
// end_session, jwks (/keys), userinfo and introspection. It MUST be served at the origin
// of Config.Issuer. Request bodies are capped at 64 KiB.
func (o *OP) Handler() http.Handler { return o.handler }

func (o *OP) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(discoveryPath, o.serveDiscovery)
	mux.HandleFunc("GET "+loginPath, o.serveLoginPage)
	mux.HandleFunc("POST "+loginPath, o.serveLoginSubmit)
	mux.HandleFunc("GET "+loggedOutPath, o.serveLoggedOut)
	mux.HandleFunc(o.provider.TokenEndpoint().Relative(), o.serveToken)
	mux.HandleFunc(o.provider.EndSessionEndpoint().Relative(), o.serveEndSession)
	mux.Handle("/", o.provider)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		mux.ServeHTTP(&headerHook{ResponseWriter: w, before: o.addIssParameter}, r)
	})
}

// Stats returns a snapshot of the counters. Each counter is read atomically; the
// snapshot as a whole is not taken at a single instant.
func (o *OP) Stats() Stats {
	return Stats{
		AuthCodeGrants:       int(o.stats.authCodeGrants.Load()),
		RefreshGrants:        int(o.stats.refreshGrants.Load()),
		RefreshReuseDetected: int(o.stats.refreshReuseDetected.Load()),
		Revocations:          int(o.stats.revocations.Load()),
		EndSessions:          int(o.stats.endSessions.Load()),
		OutageAnswers:        int(o.stats.outageAnswers.Load()),
	}
}
