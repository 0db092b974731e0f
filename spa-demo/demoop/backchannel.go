package demoop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// backchannelLogoutEvent is the events member of a logout token (Back-Channel Logout 1.0
// section 2.4).
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// maxBackchannelResponse bounds how much of an RP's answer is read (and discarded).
const maxBackchannelResponse = 64 << 10

var (
	// ErrUnknownClient is returned for a client id that is not in Config.Clients.
	ErrUnknownClient = errors.New("demoop: unknown client")
	// ErrNoLogoutSubject is returned by LogoutToken when both sub and sid are empty.
	ErrNoLogoutSubject = errors.New("demoop: a logout token needs sub, sid or both")
	// ErrBackchannelLogoutRejected wraps an RP answer other than 200 or 204.
	ErrBackchannelLogoutRejected = errors.New("demoop: back-channel logout not acknowledged")
)

// SignJWT signs claims as they are with the OP's key (RS256, its kid, typ "JWT"): tests
// use it to forge ID tokens and logout tokens that verify against the OP's JWKS.
func (o *OP) SignJWT(claims map[string]any) (string, error) {
	tok, err := o.keys.signing().sign(claims, "JWT")
	if err != nil {
		return "", fmt.Errorf("demoop: sign JWT: %w", err)
	}
	return tok, nil
}

// LogoutToken returns a valid OIDC Back-Channel Logout 1.0 logout_token for clientID:
// iss, aud (the client id), iat, exp (2 min later), a fresh jti, sub and/or sid (those not
// empty), the back-channel logout event, typ "logout+jwt", and no nonce. Times come from
// Config.Now.
func (o *OP) LogoutToken(clientID, sub, sid string) (string, error) {
	if _, ok := o.clients[clientID]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownClient, clientID)
	}
	if sub == "" && sid == "" {
		return "", ErrNoLogoutSubject
	}
	now := o.cfg.Now()
	claims := map[string]any{
		"iss":    o.issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(logoutTokenTTL).Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if sid != "" {
		claims["sid"] = sid
	}
	tok, err := o.keys.signing().sign(claims, "logout+jwt")
	if err != nil {
		return "", fmt.Errorf("demoop: logout token: %w", err)
	}
	return tok, nil
}

// BackchannelLogout logs the user sub out everywhere, as an OP administrator would: it
// ends all of the user's OP sessions, revokes every live grant (refresh and access tokens),
// then POSTs a logout_token (sub and sid) to the BackchannelLogoutURI of each client that
// held a grant, once per (client, sid). It returns nil when there was nothing to notify,
// and otherwise the joined delivery errors (transport errors, or
// ErrBackchannelLogoutRejected for an answer other than 200/204). Each POST is bounded by
// ctx and by 5 s; redirects are not followed.
func (o *OP) BackchannelLogout(ctx context.Context, sub string) error {
	var errs []error
	for _, t := range o.store.logoutSubject(sub) {
		c := o.clients[t.clientID]
		if c == nil || c.BackchannelLogoutURI == "" {
			continue
		}
		if err := o.deliverLogout(ctx, c, sub, t.sid); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o *OP) deliverLogout(ctx context.Context, c *opClient, sub, sid string) error {
	tok, err := o.LogoutToken(c.ID, sub, sid)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	body := strings.NewReader(url.Values{"logout_token": {tok}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, body)
	if err != nil {
		return fmt.Errorf("demoop: back-channel logout to client %q: %w", c.ID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := o.backHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("demoop: back-channel logout to client %q: %w", c.ID, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBackchannelResponse))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%w: client %q answered %d", ErrBackchannelLogoutRejected, c.ID, resp.StatusCode)
	}
	o.log.Info("demoop: back-channel logout delivered", slog.String("client_id", c.ID),
		slog.String("sub", sub), slog.String("sid", sid))
	return nil
}

// withoutRedirects returns a copy of c that never follows a redirect.
func withoutRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// RevokeUserTokens ends every OP session of sub and revokes all its grants WITHOUT
// notifying any client: what an administrator's "revoke all tokens" does. A relying party
// learns of it only when its next refresh answers invalid_grant.
func (o *OP) RevokeUserTokens(sub string) {
	_ = o.store.logoutSubject(sub)
}
