package handler

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/metrics"
)

// login starts the authorization-code + PKCE flow: GET /bff/login?returnTo=/path.
// It answers navigations, so every failure is an HTML page.
func (h *Handlers) login(c echo.Context) error {
	r := c.Request()
	q := r.URL.Query()
	returnTo, err := CheckReturnTo(q.Get("returnTo"))
	if err != nil {
		return page(http.StatusBadRequest, "Invalid return address",
			"The address to return to after login must be a path of this application.", err)
	}
	if err := h.d.IdP.Ready(); err != nil {
		return idpPage(err)
	}
	ar, err := idp.NewAuthRequest()
	if err != nil {
		return err
	}
	authURL, err := h.d.IdP.AuthorizeURL(r.Context(), ar, q)
	if err != nil {
		return idpPage(err)
	}
	sealed, err := h.loginCodec.Encode(loginCookieName(0), loginState{AR: ar, ReturnTo: returnTo})
	if err != nil {
		return err
	}
	slot := h.nextLoginSlot(r)
	// The cookie name is part of securecookie's MAC input; seal under the slot-independent
	// name so the callback can open whichever slot it finds.
	h.setLoginCookie(c.Response(), slot, sealed)
	h.d.Metrics.Login(metrics.LoginStarted)
	return c.Redirect(http.StatusFound, authURL)
}

func idpPage(err error) *pageError {
	return page(http.StatusServiceUnavailable, "Sign-in is unavailable",
		"The identity provider cannot be reached right now. Please try again in a moment.", err)
}

// sealName is the name login states are sealed under (see login).
var sealName = loginCookieName(0)

// errNoLogin: the callback found no login cookie matching its state.
var errNoLogin = errors.New("no login in progress matches this state")

// takeLogin finds, opens and clears the login cookie whose state equals state (compared in
// constant time by idp.SameState). Only the slots that exist are tried.
func (h *Handlers) takeLogin(c echo.Context, state string) (*loginState, error) {
	for _, ck := range c.Request().Cookies() {
		if len(ck.Name) <= len(loginCookiePrefix) || ck.Name[:len(loginCookiePrefix)] != loginCookiePrefix {
			continue
		}
		if len(ck.Value) > maxCookieValue {
			continue
		}
		var ls loginState
		if err := h.loginCodec.Decode(sealName, ck.Value, &ls); err != nil {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(ls.AR.State), []byte(state)) == 1 {
			clearLoginCookie(c.Response(), ck.Name)
			return &ls, nil
		}
	}
	return nil, errNoLogin
}
