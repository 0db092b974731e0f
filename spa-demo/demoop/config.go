package demoop

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultAccessTokenLifetime  = 60 * time.Second
	DefaultRefreshTokenLifetime = 12 * time.Hour

	// idTokenLifetime is fixed: ID tokens are checked once, at the callback, and later only
	// serve as id_token_hint, which the OP accepts expired. Tying it to a 2 s test access
	// token lifetime would only make callbacks flaky on a loaded machine.
	idTokenLifetime = time.Hour
	// authRequestTTL bounds how long a user may sit on the login page.
	authRequestTTL = 10 * time.Minute
	// codeTTL is the authorization code lifetime (RFC 6749 section 4.1.2 recommends <= 10 min).
	codeTTL = time.Minute
	// logoutTokenTTL is the lifetime of a back-channel logout_token.
	logoutTokenTTL = 2 * time.Minute
	// backchannelTimeout bounds one back-channel logout POST.
	backchannelTimeout = 5 * time.Second
)

// User is a demo account. Passwords are plain text on purpose: the login page shows them
// as a hint. A demo OP MUST NOT be given real credentials.
type User struct {
	Username, Password, Subject, Name, Email string
}

// Client is a confidential OAuth client (client_secret_basic or client_secret_post, or
// private_key_jwt when it has a PublicKey; authorization code + PKCE S256, refresh
// tokens).
type Client struct {
	ID, Secret string
	// PublicKey, when set, makes the client authenticate with private_key_jwt only (RFC
	// 7523; RS256 assertions, whose kid must be PublicKey.KeyID): Secret must be empty.
	PublicKey                            *jose.JSONWebKey
	RedirectURIs, PostLogoutRedirectURIs []string
	BackchannelLogoutURI                 string // optional; used by (*OP).BackchannelLogout
}

// Config configures New. The zero value of every field but Issuer and Clients is usable.
type Config struct {
	// Issuer is the origin the Handler is served at, e.g. "http://127.0.0.1:41234".
	// It MUST NOT carry a path, query or fragment. http:// is accepted only for a loopback
	// host (127.0.0.0/8, ::1, localhost).
	Issuer string
	// Clients are the registered relying parties; at least one is required.
	Clients []Client
	// Users are the accounts the login page accepts; DefaultUsers() if nil.
	Users []User
	// AccessTokenLifetime defaults to 60 s; tests use ~2 s.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime defaults to 12 h. Each rotation issues a token valid this long;
	// the OP browser session (SSO cookie) lives this long too.
	RefreshTokenLifetime time.Duration
	// Now defaults to time.Now. It drives everything the OP stores (auth request, code,
	// access and refresh token expiry, OP sessions, logout tokens). zitadel/oidc stamps
	// iat/nbf of ID and access tokens with time.Now itself, so Now MUST stay close to the
	// real time; move it forward to expire refresh tokens or sessions in a test.
	Now func() time.Time
	// Logger receives the OP's own events (login, reuse detection, back-channel delivery).
	// Optional: nothing is logged when nil. No token, secret, password or cookie value is
	// ever logged. zitadel/oidc itself logs through slog.Default.
	Logger *slog.Logger
	// HTTPClient sends back-channel logout requests. Optional: a client with a 5 s
	// timeout. Redirects are never followed, whatever client is given.
	HTTPClient *http.Client
	// OmitSID leaves the sid claim out of ID and access tokens, as Amazon Cognito and some
	// Entra ID setups do: a relying party must then work without an IdP session id.
	OmitSID bool
	// RefreshGracePeriod, when positive, keeps a rotated refresh token redeemable for this
	// long after its first rotation (each redemption issues fresh tokens), as Okta's grace
	// period and Auth0's reuse interval do; a presentation after it is a reuse that revokes
	// the family. Zero (the default): strict rotation, any reuse revokes.
	RefreshGracePeriod time.Duration
}

// DefaultUsers returns the two demo accounts: alice / wonderland and bob / builder.
func DefaultUsers() []User {
	return []User{
		{
			Username: "alice", Password: "wonderland",
			Subject: "5b0a2c1e-7d4f-4a8e-9c1b-a11ce0000001",
			Name:    "Alice Liddell", Email: "alice@example.com",
		},
		{
			Username: "bob", Password: "builder",
			Subject: "9e3f6d2a-1c5b-4f7e-8a9d-b0b000000002",
			Name:    "Bob Builder", Email: "bob@example.com",
		},
	}
}

// withDefaults returns cfg with every zero optional field set.
func (cfg Config) withDefaults() Config {
	if cfg.Users == nil {
		cfg.Users = DefaultUsers()
	}
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if cfg.RefreshTokenLifetime == 0 {
		cfg.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: backchannelTimeout}
	}
	return cfg
}

// validate lists every problem of a defaulted Config, joined.
func (cfg Config) validate() error {
	var errs []error
	if err := validateIssuer(cfg.Issuer); err != nil {
		errs = append(errs, err)
	}
	if cfg.AccessTokenLifetime < 0 || cfg.RefreshTokenLifetime < 0 {
		errs = append(errs, errors.New("token lifetimes must not be negative"))
	}
	if len(cfg.Clients) == 0 {
		errs = append(errs, errors.New("at least one client is required"))
	}
	errs = append(errs, validateClients(cfg.Clients)...)
	if len(cfg.Users) == 0 {
		errs = append(errs, errors.New("at least one user is required"))
	}
	errs = append(errs, validateUsers(cfg.Users)...)
	return errors.Join(errs...)
}

func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case err != nil:
		return fmt.Errorf("issuer: %w", err)
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("issuer %q: must be an absolute http(s) URL", issuer)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("issuer %q: must be an origin, without path, query or fragment", issuer)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return fmt.Errorf("issuer %q: http is allowed only on a loopback host", issuer)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateClients(clients []Client) []error {
	var errs []error
	seen := make(map[string]bool, len(clients))
	for i, c := range clients {
		name := fmt.Sprintf("clients[%d] (%q)", i, c.ID)
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("clients[%d]: id is required", i))
		} else if seen[c.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate id", name))
		}
		seen[c.ID] = true
		switch {
		case c.PublicKey == nil && c.Secret == "":
			errs = append(errs, fmt.Errorf("%s: a secret or a public key is required (confidential clients only)", name))
		case c.PublicKey != nil && c.Secret != "":
			errs = append(errs, fmt.Errorf("%s: a secret and a public key: choose one way to authenticate", name))
		case c.PublicKey != nil && (c.PublicKey.KeyID == "" || !c.PublicKey.IsPublic()):
			errs = append(errs, fmt.Errorf("%s: the public key needs a kid and no private part", name))
		}
		if len(c.RedirectURIs) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one redirect URI is required", name))
		}
		for _, u := range c.RedirectURIs {
			errs = appendURIError(errs, name+" redirect URI", u)
		}
		for _, u := range c.PostLogoutRedirectURIs {
			errs = appendURIError(errs, name+" post-logout redirect URI", u)
		}
		if c.BackchannelLogoutURI != "" {
			errs = appendURIError(errs, name+" back-channel logout URI", c.BackchannelLogoutURI)
		}
	}
	return errs
}

func appendURIError(errs []error, what, raw string) []error {
	u, err := url.Parse(raw)
	if err != nil {
		return append(errs, fmt.Errorf("%s: %w", what, err))
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
		return append(errs, fmt.Errorf("%s %q: must be an absolute http(s) URL without fragment", what, raw))
	}
	return errs
}

func validateUsers(users []User) []error {
	var errs []error
	names := make(map[string]bool, len(users))
	subjects := make(map[string]bool, len(users))
	for i, u := range users {
		if u.Username == "" || u.Password == "" || u.Subject == "" {
			errs = append(errs, fmt.Errorf("users[%d]: username, password and subject are required", i))
		}
		if names[u.Username] {
			errs = append(errs, fmt.Errorf("users[%d]: duplicate username %q", i, u.Username))
		}
		if subjects[u.Subject] {
			errs = append(errs, fmt.Errorf("users[%d]: duplicate subject %q", i, u.Subject))
		}
		names[u.Username], subjects[u.Subject] = true, true
	}
	return errs
}
