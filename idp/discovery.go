package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// wellKnownPath is appended to the issuer (OpenID Connect Discovery 1.0 §4).
const wellKnownPath = "/.well-known/openid-configuration"

// metadata is the part of the discovery document the BFF uses.
type metadata struct {
	Issuer                  string   `json:"issuer"`
	AuthorizationEndpoint   string   `json:"authorization_endpoint"`
	TokenEndpoint           string   `json:"token_endpoint"`
	JWKSURI                 string   `json:"jwks_uri"`
	EndSessionEndpoint      string   `json:"end_session_endpoint"`
	RevocationEndpoint      string   `json:"revocation_endpoint"`
	UserInfoEndpoint        string   `json:"userinfo_endpoint"`
	IDTokenSigningAlgs      []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethods    []string `json:"code_challenge_methods_supported"`
	IssParameterSupported   bool     `json:"authorization_response_iss_parameter_supported"`
	TokenEndpointAuthMethod []string `json:"token_endpoint_auth_methods_supported"`
	// RFC 9126 pushed authorization requests.
	PAREndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePAR  bool   `json:"require_pushed_authorization_requests"`
	// RFC 9449 §5.1: the algorithms the provider accepts in DPoP proofs.
	DPoPAlgs []string `json:"dpop_signing_alg_values_supported"`
}

// supportedAlgs are the asymmetric JWS algorithms ID and logout tokens may use.
// Symmetric (HS*) and "none" are never accepted.
var supportedAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// Discover makes ONE discovery attempt: it fetches the discovery document, checks it
// (issuer exactly Config.Issuer, endpoints absolute and https unless
// AllowInsecureIssuer), fetches the JWKS, and only then publishes the result, so a
// failed attempt never leaves a half-discovered provider. Calling it again after a
// success re-discovers. Errors wrap ErrIssuerMismatch or ErrUnavailable (and are
// remembered for Ready); an issuer mismatch or a missing document (404) also wraps
// ErrMisconfigured.
func (p *Provider) Discover(ctx context.Context) error {
	d, err := p.discover(ctx)
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.state.Store(d)
	p.cfg.Logger.Info("idp: provider discovered", "issuer", p.cfg.Issuer,
		"algs", d.verifierAlgs(), "end_session", d.meta.EndSessionEndpoint != "",
		"revocation", d.meta.RevocationEndpoint != "")
	return nil
}

// Start discovers the provider in the background: it retries Discover with exponential
// backoff (jittered, at most ~30 s apart) until one attempt succeeds or ctx ends.
// Start returns at once; it is idempotent (later calls do nothing) and does not retry
// once the provider is discovered.
func (p *Provider) Start(ctx context.Context) {
	p.startOnce.Do(func() {
		p.loopDone = make(chan struct{})
		go func() {
			defer close(p.loopDone)
			p.discoverLoop(ctx)
		}()
	})
}

// Ready returns nil once a discovery has succeeded; before that, an error wrapping
// ErrNotReady and the last attempt's error (which holds no secret).
func (p *Provider) Ready() error {
	if p.state.Load() != nil {
		return nil
	}
	p.mu.Lock()
	last := p.lastErr
	p.mu.Unlock()
	if last == nil {
		return fmt.Errorf("%w: no discovery attempt finished yet", ErrNotReady)
	}
	return fmt.Errorf("%w: last attempt: %w", ErrNotReady, last)
}

func (p *Provider) discoverLoop(ctx context.Context) {
	delay := p.backoffMin
	for p.state.Load() == nil {
		err := p.Discover(ctx)
		if err == nil {
			return
		}
		wait := delay/2 + rand.N(delay/2+1) // jitter in [delay/2, delay]
		p.logDiscoveryFailure(err, wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		delay = min(delay*2, p.backoffMax)
	}
}

// logDiscoveryFailure logs a failed attempt. A misconfiguration is an error (an operator
// must act; the message names the setting); anything else is a warning that the loop
// retries past.
func (p *Provider) logDiscoveryFailure(err error, wait time.Duration) {
	if errors.Is(err, ErrMisconfigured) {
		p.cfg.Logger.Error("idp: discovery failed: the configuration is wrong, fix it (retrying meanwhile)",
			"issuer", p.cfg.Issuer, "retry_in", wait.String(), "error", err.Error())
		return
	}
	p.cfg.Logger.Warn("idp: discovery failed, retrying", "issuer", p.cfg.Issuer,
		"retry_in", wait.String(), "error", err.Error())
}

// discover does the work of one Discover attempt without publishing it.
func (p *Provider) discover(ctx context.Context) (*discovered, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	meta, err := p.fetchMetadata(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.checkMetadata(meta); err != nil {
		return nil, err
	}
	if err := p.checkDPoP(meta); err != nil {
		return nil, err
	}
	if p.cfg.UserInfo && meta.UserInfoEndpoint == "" {
		return nil, fmt.Errorf("discovery: %w: the provider's discovery document names no userinfo_endpoint: "+
			"turn oidc.userInfo off for this provider", ErrMisconfigured)
	}
	algs, err := signingAlgs(meta.IDTokenSigningAlgs)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w: %w", ErrUnavailable, err)
	}
	p.warnUnadvertised(meta)
	keys := newKeySet(meta.JWKSURI, p.client, algs, p.cfg, p.fetchClock)
	if err := keys.prime(ctx); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return p.newDiscovered(meta, keys, algs), nil
}

func (p *Provider) newDiscovered(meta metadata, keys *keySet, algs []jose.SignatureAlgorithm) *discovered {
	style := oauth2.AuthStyleInHeader
	if p.cfg.AuthStyle == AuthStylePost {
		style = oauth2.AuthStyleInParams
	}
	oauth := &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		RedirectURL:  p.cfg.RedirectURL,
		Scopes:       p.cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   meta.AuthorizationEndpoint,
			TokenURL:  meta.TokenEndpoint,
			AuthStyle: style, // explicit: AutoDetect would retry with the other style
		},
	}
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	// exp tolerance: go-oidc compares exp with Now() exactly, so its clock runs
	// ClockSkew behind ours. iat is checked separately against the real clock.
	skewed := func() time.Time { return p.cfg.Now().Add(-p.cfg.ClockSkew) }
	verifier := oidc.NewVerifier(meta.Issuer, keys, &oidc.Config{
		ClientID:             p.cfg.ClientID,
		SupportedSigningAlgs: names,
		Now:                  skewed,
	})
	return &discovered{meta: meta, oauth: oauth, keys: keys, verifier: verifier}
}

// fetchMetadata GETs the discovery document with the bounded client.
func (p *Provider) fetchMetadata(ctx context.Context) (metadata, error) {
	var meta metadata
	wellKnown := strings.TrimSuffix(p.cfg.Issuer, "/") + wellKnownPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return meta, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return meta, fmt.Errorf("discovery: %w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return meta, discoveryStatusError(resp)
	}
	body, err := readBody(resp.Body)
	if err != nil {
		return meta, fmt.Errorf("discovery: %w: %w", ErrUnavailable, err)
	}
	if err := json.Unmarshal(body, &meta); err != nil {
		return meta, fmt.Errorf("discovery: %w: document is not valid JSON metadata", ErrUnavailable)
	}
	return meta, nil
}

// checkMetadata enforces the exact issuer and sane endpoints.
func (p *Provider) checkMetadata(meta metadata) error {
	if meta.Issuer != p.cfg.Issuer {
		return fmt.Errorf("discovery: %w: %w: document names issuer %q, configured %q: "+
			"set oidc.issuer to exactly the issuer the document names (scheme, host, path and trailing slash)",
			ErrMisconfigured, ErrIssuerMismatch, meta.Issuer, p.cfg.Issuer)
	}
	var errs []error
	required := map[string]string{
		"authorization_endpoint": meta.AuthorizationEndpoint,
		"token_endpoint":         meta.TokenEndpoint,
		"jwks_uri":               meta.JWKSURI,
	}
	optional := map[string]string{
		"end_session_endpoint":                  meta.EndSessionEndpoint,
		"revocation_endpoint":                   meta.RevocationEndpoint,
		"pushed_authorization_request_endpoint": meta.PAREndpoint,
		"userinfo_endpoint":                     meta.UserInfoEndpoint,
	}
	for name, v := range required {
		if err := p.cfg.checkURL(v, p.cfg.AllowInsecureIssuer); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	for name, v := range optional {
		if v == "" {
			continue
		}
		if err := p.cfg.checkURL(v, p.cfg.AllowInsecureIssuer); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("discovery: %w: %w", ErrUnavailable, errors.Join(errs...))
	}
	return nil
}

// signingAlgs is the provider's advertised ID-token algorithms that this package
// accepts (never none, never HS*); RS256 when nothing is advertised (OIDC Discovery
// makes RS256 mandatory to support).
func signingAlgs(advertised []string) ([]jose.SignatureAlgorithm, error) {
	if len(advertised) == 0 {
		return []jose.SignatureAlgorithm{jose.RS256}, nil
	}
	var algs []jose.SignatureAlgorithm
	for _, a := range advertised {
		if slices.Contains(supportedAlgs, a) {
			algs = append(algs, jose.SignatureAlgorithm(a))
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("none of the advertised id_token signing algorithms %q is supported", advertised)
	}
	return algs, nil
}

// warnUnadvertised logs (and tolerates: many providers under-advertise) metadata that
// does not list what the BFF is about to use.
func (p *Provider) warnUnadvertised(meta metadata) {
	if len(meta.CodeChallengeMethods) > 0 && !slices.Contains(meta.CodeChallengeMethods, "S256") {
		p.cfg.Logger.Warn("idp: provider does not advertise PKCE S256; sending it anyway",
			"issuer", p.cfg.Issuer)
	}
	methods := meta.TokenEndpointAuthMethod
	if len(methods) > 0 && !slices.Contains(methods, p.cfg.AuthStyle) {
		p.cfg.Logger.Warn("idp: provider does not advertise the configured token endpoint auth method",
			"issuer", p.cfg.Issuer, "auth_style", p.cfg.AuthStyle)
	}
}

func (d *discovered) verifierAlgs() []string {
	out := make([]string, len(d.keys.algs))
	for i, a := range d.keys.algs {
		out[i] = string(a)
	}
	return out
}
