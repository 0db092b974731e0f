package idp

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Identity is who an ID token says logged in. It holds no token.
type Identity struct {
	// Subject is the sub claim (never empty).
	Subject string
	// SID is the sid claim (the IdP session), "" when absent; back-channel logout uses it.
	SID string
	// Claims are the profile claims the ID token carried, among: name, email,
	// email_verified, preferred_username, given_name, family_name, picture.
	Claims map[string]any
}

// profileClaims are the ID token claims copied into Identity.Claims.
var profileClaims = []string{
	"name", "email", "email_verified", "preferred_username", "given_name", "family_name", "picture",
}

// idClaims are the claims go-oidc's Verify leaves to the caller.
type idClaims struct {
	Subject  string      `json:"sub"`
	IssuedAt json.Number `json:"iat"`
	Audience audience    `json:"aud"`
	AZP      string      `json:"azp"`
	Nonce    string      `json:"nonce"`
	SID      string      `json:"sid"`
}

// idTokenCheck says what verifyIDToken must check beyond go-oidc.
type idTokenCheck struct {
	// nonce expected, compared in constant time; "" skips the check (refresh: OIDC Core
	// §12.2 ID tokens from a refresh need not carry one).
	nonce string
	// accessToken, when non-empty and the token has at_hash, is checked against it.
	accessToken string
}

// verifyIDToken runs go-oidc's Verify (signature with the allowed algorithms only, iss,
// aud contains the client id, exp with ClockSkew) and then the checks go-oidc leaves
// out: sub present, iat present, not in the future beyond ClockSkew and not older than
// MaxTokenAge (plus ClockSkew), no audience but
// the client id, azp equal to the client id when present (required with several
// audiences), the nonce, and at_hash when present. Errors wrap ErrInvalidToken, or
// ErrUnavailable when the signing keys could not be fetched.
func (p *Provider) verifyIDToken(ctx context.Context, d *discovered, raw string, want idTokenCheck) (*Identity, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: token response has no id_token", ErrInvalidToken)
	}
	tok, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, p.verifyErr(ctx, d, raw, err)
	}
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: id token claims: %w", ErrInvalidToken, err)
	}
	if err := p.checkIDClaims(c, want); err != nil {
		return nil, fmt.Errorf("%w: id token: %w", ErrInvalidToken, err)
	}
	if want.accessToken != "" && tok.AccessTokenHash != "" {
		if err := tok.VerifyAccessToken(want.accessToken); err != nil {
			return nil, fmt.Errorf("%w: id token at_hash does not match the access token", ErrInvalidToken)
		}
	}
	return newIdentity(tok, c), nil
}

// verifyErr maps a go-oidc Verify failure. go-oidc flattens the key set's error with
// %v, so an unavailable JWKS is told apart by asking the key set again (cache-only
// when the keys are there; rate-limited otherwise).
func (p *Provider) verifyErr(ctx context.Context, d *discovered, raw string, err error) error {
	if _, kerr := d.keys.VerifySignature(ctx, raw); errors.Is(kerr, ErrUnavailable) {
		return fmt.Errorf("id token: %w", kerr)
	}
	return fmt.Errorf("%w: id token: %w", ErrInvalidToken, err)
}

// checkIDClaims is the part of ID token validation (OIDC Core §3.1.3.7) go-oidc skips.
func (p *Provider) checkIDClaims(c idClaims, want idTokenCheck) error {
	if c.Subject == "" {
		return errors.New("sub claim missing")
	}
	iat, err := numericDate(c.IssuedAt)
	if err != nil {
		return fmt.Errorf("iat claim: %w", err)
	}
	if err := p.checkIssuedAt(iat); err != nil {
		return err
	}
	if err := p.checkAudience(c.Audience, c.AZP); err != nil {
		return err
	}
	if want.nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(want.nonce)) != 1 {
		return errors.New("nonce claim does not match the login's nonce")
	}
	return nil
}

// checkIssuedAt refuses an iat in the future or older than MaxTokenAge, each beyond
// ClockSkew: a pre-minted token, or a stale one replayed from a log, a cache or a
// captured response. ID tokens and logout tokens share it.
func (p *Provider) checkIssuedAt(iat time.Time) error {
	now, skew := p.cfg.Now(), p.cfg.ClockSkew
	if iat.After(now.Add(skew)) {
		return errors.New("iat claim is in the future")
	}
	if iat.Before(now.Add(-p.cfg.MaxTokenAge - skew)) {
		return fmt.Errorf("iat claim is older than the maximum token age (%s)", p.cfg.MaxTokenAge)
	}
	return nil
}

// checkAudience refuses any audience but the client id (an extra audience is a party
// this BFF does not trust to hold the token), and an azp that is not the client id;
// with several audience values azp is required (OIDC Core §3.1.3.7 steps 3-5).
func (p *Provider) checkAudience(aud audience, azp string) error {
	for _, a := range aud {
		if a != p.cfg.ClientID {
			return errors.New("aud claim holds an untrusted extra audience")
		}
	}
	if len(aud) > 1 && azp == "" {
		return errors.New("azp claim required with several audiences")
	}
	if azp != "" && azp != p.cfg.ClientID {
		return errors.New("azp claim is not this client")
	}
	return nil
}

func newIdentity(tok *oidc.IDToken, c idClaims) *Identity {
	var all map[string]any
	_ = tok.Claims(&all) // already decoded once: cannot fail
	id := &Identity{Subject: c.Subject, SID: c.SID, Claims: map[string]any{}}
	for _, name := range profileClaims {
		if v, ok := all[name]; ok && v != nil {
			id.Claims[name] = v
		}
	}
	return id
}

// audience is a JWT aud: one string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// numericDate parses a JWT NumericDate (RFC 7519 §2); missing is an error.
func numericDate(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, errors.New("missing")
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, errors.New("not a valid NumericDate")
	}
	return time.Unix(int64(f), 0), nil
}
