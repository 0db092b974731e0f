package handler

import (
	"context"
	"net/url"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// The handlers' collaborators are small interfaces, as refresh.TokenRefresher is for the
// refresher: the assembly passes the real ones (*idp.Provider, *refresh.Refresher,
// *metrics.Metrics), and the handler's own tests pass fakes where a real provider or
// refresher would only slow them down.

// Provider is what the handlers ask of the relying party; *idp.Provider implements it.
type Provider interface {
	// Ready is nil once discovery is done (login, readiness).
	Ready() error
	// AuthorizeURL, PassedParams: /bff/login's redirect and the parameters it passes on.
	AuthorizeURL(ctx context.Context, ar idp.AuthRequest, params url.Values) (string, error)
	PassedParams(params url.Values) url.Values
	// NewDPoPKey: a session's DPoP key (private JWK) at login, "" when DPoP is off.
	NewDPoPKey() (string, error)
	// CheckIssuer and Exchange: the callback's RFC 9207 check and code exchange.
	CheckIssuer(iss string) error
	Exchange(ctx context.Context, code string, ar idp.AuthRequest) (*idp.Tokens, *idp.Identity, error)
	// Revoke and EndSessionURL: logout.
	Revoke(ctx context.Context, refreshToken string) error
	EndSessionURL(idTokenHint, state string) (string, bool)
	// VerifyLogoutToken: back-channel logout.
	VerifyLogoutToken(ctx context.Context, raw string) (*idp.LogoutToken, error)
}

// NamedProvider is one of several configured providers (config's oidc.providers).
type NamedProvider struct {
	// Name is the provider's configured name (?idp=, Record.Provider).
	Name string
	// Issuer is its configured issuer: a logout token posted without ?idp= is given to
	// the provider whose issuer its (unverified) iss names.
	Issuer string
	IdP    Provider
}

// Refresher hands out a session's fresh record (refreshed when due, or when force);
// *refresh.Refresher implements it. Its errors are refresh's domain errors.
type Refresher interface {
	Fresh(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error)
}

// Recorder counts what the handlers do; *metrics.Metrics implements it (a nil one counts
// nothing). The outcome and reason values are the constants of outcomes.go, and the
// Ended* reasons of package metrics.
type Recorder interface {
	Login(outcome string)
	SessionCreated()
	SessionEnded(reason string, n int)
	BackchannelLogout(outcome string)
	SessionRejected(reason string)
}

// noRecorder counts nothing (Deps.Metrics left nil).
type noRecorder struct{}

func (noRecorder) Login(string)             {}
func (noRecorder) SessionCreated()          {}
func (noRecorder) SessionEnded(string, int) {}
func (noRecorder) BackchannelLogout(string) {}
func (noRecorder) SessionRejected(string)   {}
