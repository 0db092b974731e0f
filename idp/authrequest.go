package idp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// randomBytes is the entropy of state and nonce: 256 bits.
const randomBytes = 32

// maxAuthParamLen caps one passed-through authorization parameter value; longer values
// are dropped (they only serve to make the authorize URL too long for the IdP).
const maxAuthParamLen = 1024

// AuthRequest is one login attempt's secrets. The handler seals it in the login cookie
// and checks it on the callback; it MUST NOT be logged or sent to the browser unsealed.
// The JSON field names are short on purpose: the value lives in a cookie.
type AuthRequest struct {
	// State binds the callback to this browser (compare in constant time).
	State string `json:"s"`
	// Nonce binds the ID token to this login (Exchange compares it).
	Nonce string `json:"n"`
	// CodeVerifier is the PKCE (RFC 7636) verifier; only its S256 challenge leaves the BFF
	// in the authorize URL.
	CodeVerifier string `json:"v"`
	// DPoPKey is the session's DPoP key (a private JWK, Provider.NewDPoPKey) when DPoP is
	// on: the code exchange proves it, and the session keeps it. "" otherwise.
	DPoPKey string `json:"dk,omitempty"`
}

// NewAuthRequest draws a fresh state and nonce (256 random bits each, base64url) and a
// PKCE verifier (oauth2.GenerateVerifier: 256 bits).
func NewAuthRequest() (AuthRequest, error) {
	state, err := randomString()
	if err != nil {
		return AuthRequest{}, fmt.Errorf("idp: auth request state: %w", err)
	}
	nonce, err := randomString()
	if err != nil {
		return AuthRequest{}, fmt.Errorf("idp: auth request nonce: %w", err)
	}
	return AuthRequest{State: state, Nonce: nonce, CodeVerifier: oauth2.GenerateVerifier()}, nil
}

func randomString() (string, error) {
	b := make([]byte, randomBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// MatchesState reports, in constant time, whether state (the callback's state
// parameter) is this login attempt's state. An empty state never matches.
func (ar AuthRequest) MatchesState(state string) bool {
	return ar.State != "" && subtle.ConstantTimeCompare([]byte(ar.State), []byte(state)) == 1
}

func (ar AuthRequest) validate() error {
	if ar.State == "" || ar.Nonce == "" || ar.CodeVerifier == "" {
		return errors.New("idp: auth request needs state, nonce and code verifier")
	}
	return nil
}

// AuthCodeURL returns the authorization endpoint URL for ar: response_type=code,
// client_id, redirect_uri, scope, state, nonce, and the PKCE S256 challenge of
// ar.CodeVerifier. From params (the /bff/login query) only the names in
// Config.AuthParams are copied, first value only, empty or over-long values dropped;
// the parameters the BFF sets itself can never be overridden. ErrNotReady before
// discovery.
func (p *Provider) AuthCodeURL(ar AuthRequest, params url.Values) (string, error) {
	d, err := p.ready()
	if err != nil {
		return "", err
	}
	if err := ar.validate(); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(ar.CodeVerifier),
		oidc.Nonce(ar.Nonce),
	}
	if ar.DPoPKey != "" {
		jkt, err := dpopJKT(ar.DPoPKey)
		if err != nil {
			return "", fmt.Errorf("idp: auth request: %w", err)
		}
		opts = append(opts, oauth2.SetAuthURLParam("dpop_jkt", jkt))
	}
	for name, vs := range p.PassedParams(params) {
		opts = append(opts, oauth2.SetAuthURLParam(name, vs[0]))
	}
	return d.oauth.AuthCodeURL(ar.State, opts...), nil
}

// PassedParams returns the parameters of params (the /bff/login query) that AuthCodeURL
// copies into the authorization request: the names in Config.AuthParams, first value
// only, empty or over-long values dropped. With PAR they travel in the pushed request, so
// the caller learns here, not from the browser's URL, e.g. whether a login asked for
// prompt=none.
func (p *Provider) PassedParams(params url.Values) url.Values {
	out := url.Values{}
	for _, name := range p.cfg.AuthParams {
		v := params.Get(name)
		if v == "" || len(v) > maxAuthParamLen {
			continue
		}
		out.Set(name, v)
	}
	return out
}

// CheckIssuer applies RFC 9207 to the callback's iss parameter ("" when absent):
// present, it must equal the issuer exactly; absent, it is an error only if the
// provider's metadata says authorization_response_iss_parameter_supported. Errors wrap
// ErrIssuerMismatch (or ErrNotReady). The handler calls it before Exchange: a mismatch
// is a mix-up attack, the code MUST NOT be redeemed.
//
// An empty iss parameter is indistinguishable from an absent one here.
func (p *Provider) CheckIssuer(iss string) error {
	d, err := p.ready()
	if err != nil {
		return err
	}
	switch {
	case iss == "" && d.meta.IssParameterSupported:
		return fmt.Errorf("%w: authorization response has no iss parameter, but the provider sends one", ErrIssuerMismatch)
	case iss == "":
		return nil
	case iss != d.meta.Issuer:
		return fmt.Errorf("%w: authorization response iss is not the configured issuer", ErrIssuerMismatch)
	}
	return nil
}
