package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// BackchannelLogoutEvent is the events member that makes a JWT a logout token.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// maxLogoutTokenLen refuses absurd tokens before any parsing.
const maxLogoutTokenLen = 16 << 10

// LogoutToken is a verified back-channel logout request: end the sessions of SID, or
// of Subject when SID is empty (at least one is set).
type LogoutToken struct {
	Subject, SID string
	// JTI identifies the token. The caller MUST refuse a JTI it has already seen, and
	// remember it until Expiry (e.g. session.Store.Once).
	JTI string
	// IssuedAt is the iat claim. Expiry is the earlier of the exp claim (when present)
	// and IssuedAt + Config.MaxTokenAge: after it (plus ClockSkew), the token is
	// refused anyway, so a replay store only has to remember its jti this long.
	IssuedAt, Expiry time.Time
}

// logoutClaims is the logout token payload (Back-Channel Logout 1.0 §2.4).
type logoutClaims struct {
	Issuer   string                     `json:"iss"`
	Subject  string                     `json:"sub"`
	Audience audience                   `json:"aud"`
	IssuedAt json.Number                `json:"iat"`
	Expiry   json.Number                `json:"exp"`
	JTI      string                     `json:"jti"`
	SID      string                     `json:"sid"`
	Events   map[string]json.RawMessage `json:"events"`
	Nonce    json.RawMessage            `json:"nonce"`
}

// VerifyLogoutToken validates a back-channel logout token (Back-Channel Logout 1.0
// §2.6): signature with the provider's keys and allowed algorithms (never none), typ
// absent, JWT or logout+jwt (any other explicit type is cross-JWT confusion), iss
// exactly the issuer, aud containing the client id, iat present, not in the future and
// no older than Config.MaxTokenAge, exp if present not past (ClockSkew tolerated on
// each), jti present, events holding the back-channel-logout member as a
// JSON object, sub or sid present, and NO nonce (so an ID token can never pass as a
// logout token).
//
// Replay of the same jti is the CALLER's check: it has the store. Errors wrap
// ErrInvalidToken (answer 400), ErrUnavailable (the signing keys could not be
// fetched) or ErrNotReady; they never contain the token.
func (p *Provider) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	d, err := p.ready()
	if err != nil {
		return nil, err
	}
	if raw == "" || len(raw) > maxLogoutTokenLen {
		return nil, fmt.Errorf("%w: logout token empty or longer than %d bytes", ErrInvalidToken, maxLogoutTokenLen)
	}
	payload, hdr, err := d.keys.verifyJWS(ctx, raw)
	if errors.Is(err, ErrUnavailable) {
		return nil, fmt.Errorf("logout token: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: logout token: %w", ErrInvalidToken, err)
	}
	lt, err := p.checkLogoutToken(d, hdr, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: logout token: %w", ErrInvalidToken, err)
	}
	return lt, nil
}

// checkLogoutToken checks the authenticated header and payload of a logout token.
func (p *Provider) checkLogoutToken(d *discovered, hdr jose.Header, payload []byte) (*LogoutToken, error) {
	if err := checkLogoutTyp(hdr); err != nil {
		return nil, err
	}
	var c logoutClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("payload is not a JSON claims set")
	}
	if c.Issuer != d.meta.Issuer {
		return nil, errors.New("iss claim is not the configured issuer")
	}
	if !slices.Contains(c.Audience, p.cfg.ClientID) {
		return nil, errors.New("aud claim does not contain this client")
	}
	iat, exp, err := p.logoutTimes(c)
	if err != nil {
		return nil, err
	}
	if err := checkLogoutContent(c); err != nil {
		return nil, err
	}
	return &LogoutToken{Subject: c.Subject, SID: c.SID, JTI: c.JTI, IssuedAt: iat, Expiry: exp}, nil
}

// checkLogoutTyp accepts typ logout+jwt (Back-Channel Logout 1.0 §2.4), JWT (Hydra and
// Keycloak before 25 send it) or none, compared case-insensitively and with or without
// the "application/" prefix (RFC 7515 §4.1.9). Any other explicit type (at+jwt,
// id_token+jwt, secevent+jwt, …) names another kind of token: refusing it stops a JWT
// minted for another purpose from ending sessions (cross-JWT confusion).
func checkLogoutTyp(hdr jose.Header) error {
	raw, present := hdr.ExtraHeaders[jose.HeaderType]
	if !present {
		return nil
	}
	typ, _ := raw.(string)
	switch strings.TrimPrefix(strings.ToLower(typ), "application/") {
	case "jwt", "logout+jwt":
		return nil
	}
	return errors.New("typ header is neither JWT nor logout+jwt")
}

// logoutTimes checks iat and exp and returns them (exp bounded, see LogoutToken).
func (p *Provider) logoutTimes(c logoutClaims) (iat, exp time.Time, err error) {
	if iat, err = numericDate(c.IssuedAt); err != nil {
		return iat, exp, fmt.Errorf("iat claim: %w", err)
	}
	if err := p.checkIssuedAt(iat); err != nil {
		return iat, exp, err
	}
	exp = iat.Add(p.cfg.MaxTokenAge)
	if c.Expiry != "" {
		claimed, err := numericDate(c.Expiry)
		if err != nil {
			return iat, exp, fmt.Errorf("exp claim: %w", err)
		}
		if claimed.Before(exp) {
			exp = claimed
		}
	}
	if p.cfg.Now().Add(-p.cfg.ClockSkew).After(exp) {
		return iat, exp, errors.New("token expired (exp passed)")
	}
	return iat, exp, nil
}

// checkLogoutContent checks jti, events, sub/sid and the absence of nonce.
func checkLogoutContent(c logoutClaims) error {
	if c.JTI == "" {
		return errors.New("jti claim missing")
	}
	ev, ok := c.Events[BackchannelLogoutEvent]
	if !ok {
		return errors.New("events claim lacks the back-channel logout event")
	}
	if ev = bytes.TrimSpace(ev); len(ev) == 0 || ev[0] != '{' {
		return errors.New("back-channel logout event member is not a JSON object")
	}
	if c.Subject == "" && c.SID == "" {
		return errors.New("neither sub nor sid claim")
	}
	if c.Nonce != nil {
		return errors.New("nonce claim present (an ID token is not a logout token)")
	}
	return nil
}
