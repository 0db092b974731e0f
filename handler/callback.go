package handler

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// maxStateLen bounds the state parameter; ours are 43 characters.
const maxStateLen = 256

// callback is the redirect URI: GET /bff/callback?code&state&iss. It takes the pending
// login of the state from the store (single use) and requires its handle in this browser's
// login cookie, checks RFC 9207 iss, exchanges the code with the PKCE verifier, verifies
// the ID token and its nonce, and starts a NEW session: the ids the browser had before
// (the one it presented at /bff/login and the one it presents here) are deleted, never
// reused (no session fixation).
func (h *Handlers) callback(c echo.Context) error {
	outcome, err := h.completeLogin(c)
	h.d.Metrics.Login(outcome)
	return err
}

// completeLogin is the callback's work; it names its outcome for the metrics.
func (h *Handlers) completeLogin(c echo.Context) (string, error) {
	r := c.Request()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		return LoginBadState, retryPage(http.StatusBadRequest, "Sign-in failed", "The sign-in response is missing its state.", errNoLogin)
	}
	ls, err := h.takeLogin(c, state)
	switch {
	case errors.Is(err, session.ErrUnavailable):
		return LoginStoreError, storePage(err)
	case err != nil:
		return LoginBadState, retryPage(http.StatusBadRequest, "Sign-in expired", "This sign-in attempt is unknown, expired, already used or was started in another browser.", err)
	}
	p, ok := h.provider(ls.IdP)
	if !ok {
		return LoginBadState, retryPage(http.StatusBadRequest, "Sign-in expired", "This sign-in attempt was started at an identity provider that is no longer configured.", errUnknownProvider)
	}
	if e := q.Get("error"); e != "" {
		if code, ok := silentNoSession(ls, e); ok {
			return h.silentLoginFailed(c, p, ls, code)
		}
		if e == "access_denied" {
			return LoginDenied, providerErrorPage(e)
		}
		return LoginIdPError, providerErrorPage(e)
	}
	// RFC 9207 against the provider the login was started at: an answer (or a code) of
	// another provider is a mix-up and is never redeemed.
	if err := p.CheckIssuer(q.Get("iss")); errors.Is(err, idp.ErrNotReady) {
		return LoginIdPError, idpPage(err)
	} else if err != nil {
		return LoginBadState, retryPage(http.StatusBadRequest, "Sign-in failed", "The sign-in response came from an unexpected issuer.", err)
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return LoginBadState, retryPage(http.StatusBadRequest, "Sign-in failed", "The sign-in response has no valid code.", errNoLogin)
	}
	toks, ident, err := p.Exchange(r.Context(), code, ls.AR)
	if err != nil {
		if errors.Is(err, idp.ErrInvalidToken) {
			return LoginInvalidToken, exchangePage(err)
		}
		return LoginIdPError, exchangePage(err)
	}
	// The UserInfo claims (oidc.userInfo) over the ID token's; a failed fetch fails no login.
	ident.Claims = idp.WithUserInfo(r.Context(), p, toks, ident.Subject, ident.Claims)
	if err := h.endPreviousSession(c, ls.Previous); err != nil {
		return LoginStoreError, err
	}
	if err := h.startSession(c, ls.IdP, toks, ident); err != nil {
		return LoginStoreError, err
	}
	h.d.Metrics.SessionCreated()
	return LoginOK, c.Redirect(http.StatusFound, ls.ReturnTo)
}

// silentInteractionErrors are the error answers to a prompt=none request that mean "the
// IdP would have to show a page" (OIDC Core §3.1.2.6): no IdP session, consent or account
// choice needed. The marker carries our own constant, never the IdP's bytes.
var silentInteractionErrors = []string{"login_required", "consent_required", "interaction_required", "account_selection_required"}

// silentNoSession reports whether the error answer e ends a silent login (one started with
// prompt=none) for want of interaction, and returns the error code for the marker.
func silentNoSession(ls *pendingLogin, e string) (string, bool) {
	if !ls.Silent {
		return "", false
	}
	for _, code := range silentInteractionErrors {
		if e == code {
			return code, true
		}
	}
	return "", false
}

// silentLoginFailed answers a silent login that found no usable IdP session: the browser
// goes back to the login's returnTo with the marker, so the SPA renders its logged-out
// state instead of an error page (check-SSO without iframes or third-party cookies). The
// answer was already matched to this browser's pending login (state and handle), and the
// issuer is checked as for a code (RFC 9207 also covers error answers); no session changes.
func (h *Handlers) silentLoginFailed(c echo.Context, p Provider, ls *pendingLogin, code string) (string, error) {
	if err := p.CheckIssuer(c.Request().URL.Query().Get("iss")); errors.Is(err, idp.ErrNotReady) {
		return LoginIdPError, idpPage(err)
	} else if err != nil {
		return LoginBadState, retryPage(http.StatusBadRequest, "Sign-in failed", "The sign-in response came from an unexpected issuer.", err)
	}
	return LoginSilentNoSession, c.Redirect(http.StatusFound, withSilentMarker(ls.ReturnTo, code))
}

// SilentLoginMarker is the query parameter a silent login that found no IdP session adds
// to returnTo: /x?bff_login=login_required. A query parameter, not a fragment, so that
// hash-routed apps (/#/route) keep their fragment. It is no proof of anything (anyone can
// link to /x?bff_login=login_required): it only tells the SPA not to try a silent login
// again; /bff/user remains the one answer to "who is logged in".
const SilentLoginMarker = "bff_login"

// withSilentMarker returns returnTo (already accepted by CheckReturnTo) with
// SilentLoginMarker=code appended to its query, before any fragment, replacing a marker
// it already had; the rest of the query is kept byte for byte.
func withSilentMarker(returnTo, code string) string {
	rest, frag := returnTo, ""
	if i := strings.IndexByte(returnTo, '#'); i >= 0 {
		rest, frag = returnTo[:i], returnTo[i:]
	}
	path, query := rest, ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		path, query = rest[:i], rest[i+1:]
	}
	var kept []string
	for _, pair := range strings.Split(query, "&") {
		if key, _, _ := strings.Cut(pair, "="); pair != "" && key != SilentLoginMarker {
			kept = append(kept, pair)
		}
	}
	kept = append(kept, SilentLoginMarker+"="+code)
	return path + "?" + strings.Join(kept, "&") + frag
}

// endPreviousSession ends the session the browser presented when it started this login
// (recorded in the pending login: a SameSite=Strict cookie does not reach the callback),
// unless it is the one startSession sees and ends itself.
func (h *Handlers) endPreviousSession(c echo.Context, prev string) error {
	r := c.Request()
	if prev == "" || prev == h.readSessionID(r) {
		return nil
	}
	if err := h.d.Store.Delete(r.Context(), prev); err != nil {
		return storePage(err)
	}
	h.d.OnEnd([]string{session.IDHash(prev)})
	return nil
}

func storePage(err error) *pageError {
	return page(http.StatusServiceUnavailable, "Sign-in is unavailable", "The session store cannot be reached right now.", err)
}

// startSession deletes the browser's previous session, if any, and stores a new one of
// provider (its name, "" without oidc.providers) under a fresh id.
func (h *Handlers) startSession(c echo.Context, provider string, toks *idp.Tokens, ident *idp.Identity) error {
	r := c.Request()
	if old := h.readSessionID(r); old != "" {
		if err := h.d.Store.Delete(r.Context(), old); err != nil {
			return storePage(err)
		}
		h.d.OnEnd([]string{session.IDHash(old)})
	}
	id, err := session.NewID()
	if err != nil {
		return err
	}
	now := h.d.Now()
	rec := &session.Record{
		Subject: ident.Subject, SID: ident.SID, Provider: provider,
		AccessToken: toks.AccessToken, RefreshToken: toks.RefreshToken, IDToken: toks.IDToken,
		TokenType: toks.TokenType, AccessExpiry: toks.Expiry, AccessLifetime: toks.Lifetime, Claims: ident.Claims,
		DPoPKey: toks.DPoPKey,
		Created: now, AbsoluteExpiry: now.Add(h.cfg.AbsoluteTimeout),
		LogoutHandle: session.NewLogoutHandle(),  // the GET logout link's proof (logoutGet)
		Handle:       session.NewSessionHandle(), // its name in GET /bff/sessions
		Device:       deviceOf(r.UserAgent()),
	}
	if err := h.d.Store.Save(r.Context(), id, rec); err != nil {
		return storePage(err)
	}
	value, err := h.sessionCodec.Encode(h.cfg.CookieName, id)
	if err != nil {
		return err
	}
	http.SetCookie(c.Response(), h.sessionCookie(value, h.cfg.AbsoluteTimeout))
	return nil
}

func retryPage(status int, title, msg string, err error) *pageError {
	p := page(status, title, msg, err)
	p.Retry = true
	return p
}

// providerErrorPage shows an authorization error response (RFC 6749 §4.1.2.1). The IdP's
// error_description is not shown: it is attacker-controllable text.
func providerErrorPage(code string) *pageError {
	if code == "access_denied" {
		return retryPage(http.StatusForbidden, "Sign-in was cancelled", "You did not grant access, or the sign-in was cancelled.", errors.New("idp: access_denied"))
	}
	return retryPage(http.StatusBadRequest, "Sign-in failed", "The identity provider could not complete the sign-in.", errors.New("idp: authorization error response"))
}

// exchangePage maps code-exchange failures: a bad token is the request's fault (400), an
// unreachable token endpoint or an unusable token type is a gateway failure (502).
func exchangePage(err error) *pageError {
	switch {
	case errors.Is(err, idp.ErrNotDPoPBound):
		return page(http.StatusBadGateway, "Sign-in failed",
			"The identity provider issued an access token that is not DPoP-bound, though this application asks for DPoP. An administrator must enable DPoP-bound access tokens for the client at the identity provider.", err)
	case errors.Is(err, idp.ErrTokenType):
		// The provider's configuration, not the browser, is at fault: retrying cannot help.
		return page(http.StatusBadGateway, "Sign-in failed",
			"The identity provider issued an access token that is not a Bearer token (for example a DPoP-bound one), which this application cannot use. An administrator must configure the client at the identity provider to issue Bearer tokens.", err)
	case errors.Is(err, idp.ErrMisconfigured):
		return misconfiguredPage(err) // e.g. invalid_client: the client secret is wrong
	case errors.Is(err, idp.ErrUnavailable):
		return page(http.StatusBadGateway, "Sign-in is unavailable", "The identity provider did not answer. Please try again in a moment.", err)
	case errors.Is(err, idp.ErrNotReady):
		return idpPage(err)
	default:
		return retryPage(http.StatusBadRequest, "Sign-in failed", "The sign-in response could not be verified.", err)
	}
}
