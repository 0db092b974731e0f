package idp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/tokenward/bff/dpop"
)

// ErrNoDPoPKey: DPoP is on but the session has no key (a login that began, or a session
// that was made, before DPoP was switched on). It wraps ErrInvalidToken: the login fails
// or the session ends, and the user logs in again with a key.
var ErrNoDPoPKey = fmt.Errorf("%w: DPoP is on and the session has no DPoP key", ErrInvalidToken)

// checkDPoP refuses a provider that lists the DPoP algorithms it accepts without ours: every
// token request would fail. A provider that lists none may still accept DPoP (the member
// is optional): a warning, and the first token response tells.
func (p *Provider) checkDPoP(meta metadata) error {
	if !p.cfg.DPoP {
		return nil
	}
	if len(meta.DPoPAlgs) == 0 {
		p.cfg.Logger.Warn("idp: oidc.dpop is on but the provider does not advertise dpop_signing_alg_values_supported; "+
			"logins fail if it does not issue DPoP-bound tokens", "issuer", p.cfg.Issuer)
		return nil
	}
	if !slices.Contains(meta.DPoPAlgs, p.cfg.DPoPAlgorithm) {
		return fmt.Errorf("discovery: %w: the provider accepts DPoP proofs of %v, not %s: "+
			"set oidc.dpopAlgorithm to one of them (the BFF signs ES256 or EdDSA)",
			ErrMisconfigured, meta.DPoPAlgs, p.cfg.DPoPAlgorithm)
	}
	return nil
}

// NewDPoPKey makes a session's DPoP key at login, as the private JWK the pending login and
// then the session record keep (sealed). "" when DPoP is off.
func (p *Provider) NewDPoPKey() (string, error) {
	if !p.cfg.DPoP {
		return "", nil
	}
	k, err := dpop.NewKey(p.cfg.DPoPAlgorithm)
	if err != nil {
		return "", fmt.Errorf("idp: %w", err)
	}
	b, err := k.MarshalPrivate()
	if err != nil {
		return "", fmt.Errorf("idp: %w", err)
	}
	return string(b), nil
}

// DPoP reports whether the provider binds tokens with DPoP.
func (p *Provider) DPoP() bool { return p.cfg.DPoP }

type dpopKeyCtx struct{}

// WithDPoPKey returns ctx carrying a session's DPoP key (its private JWK, as kept in the
// record), for the token requests made under ctx: Refresh signs its proof with it. The
// refresher passes the caller's context values on to the provider, so the caller of a
// refresh (the handler, which holds the record) sets it; the key of a session never changes.
func WithDPoPKey(ctx context.Context, key string) context.Context {
	if key == "" {
		return ctx
	}
	return context.WithValue(ctx, dpopKeyCtx{}, key)
}

func dpopKeyFrom(ctx context.Context) string {
	k, _ := ctx.Value(dpopKeyCtx{}).(string)
	return k
}

// sessionKey reads the session's key for a token request: nil when DPoP is off;
// ErrNoDPoPKey when it is on and there is none.
func (p *Provider) sessionKey(raw string) (*dpop.Key, error) {
	if !p.cfg.DPoP {
		return nil, nil
	}
	if raw == "" {
		return nil, ErrNoDPoPKey
	}
	k, err := dpop.ParseKey([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDPoPKey, err)
	}
	return k, nil
}

// addProof sets the DPoP header of a token request (no ath: RFC 9449 §5), with the
// provider's latest nonce.
func (p *Provider) addProof(req *http.Request, key *dpop.Key) error {
	if key == nil {
		return nil
	}
	proof, err := key.Proof(dpop.Params{
		Method: req.Method, URL: req.URL, Nonce: p.nonces.Get(dpop.Origin(req.URL)), Now: p.cfg.Now(),
	})
	if err != nil {
		return err
	}
	req.Header.Set("DPoP", proof)
	return nil
}

// dpopJKT is the authorization request's dpop_jkt (RFC 9449 §10): it binds the code to
// the session's key, so a code stolen on the way back cannot be redeemed with another.
func dpopJKT(raw string) (string, error) {
	k, err := dpop.ParseKey([]byte(raw))
	if err != nil {
		return "", err
	}
	return k.JKT(), nil
}

// remembersNonce keeps the provider's DPoP-Nonce of a token endpoint answer.
func (p *Provider) remembersNonce(u *url.URL, h http.Header) bool {
	return p.nonces.Remember(dpop.Origin(u), h)
}
