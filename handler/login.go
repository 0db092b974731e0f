package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// pendingLogin is what the store keeps of a login in progress, under its state, sealed at
// rest, single use and expiring with LoginTimeout. The browser holds only Handle (in its
// __Host- login cookie); the callback completes the login only for the browser that does.
type pendingLogin struct {
	AR       idp.AuthRequest `json:"ar"`
	ReturnTo string          `json:"rt"`
	Handle   string          `json:"h"`
	// Previous is the session id the browser presented at /bff/login, if any. /bff/login is
	// a same-origin navigation, so it sees a SameSite=Strict session cookie that the
	// callback (a cross-site navigation from the IdP) does not: the callback ends this
	// session, so a re-login leaves no orphaned session behind.
	Previous string `json:"prev,omitempty"`
	// IdP names the provider the login was started at (Record.Provider of the session it
	// makes; "" without oidc.providers). The callback uses this provider only, never one
	// a request parameter names.
	IdP string `json:"idp,omitempty"`
	// Silent: the authorization request carried prompt=none (OIDC Core §3.1.2.1), so an
	// "interaction needed" error answer returns to ReturnTo with a marker instead of an
	// error page (see silentLoginMarker).
	Silent bool `json:"sl,omitempty"`
}

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
	name, p, err := h.loginProvider(q.Get("idp"))
	if err != nil {
		return err
	}
	if err := p.Ready(); err != nil {
		return idpPage(err)
	}
	ar, err := idp.NewAuthRequest()
	if err != nil {
		return err
	}
	// The session's DPoP key is made now: the authorization request names it (dpop_jkt)
	// and the pending login keeps it, sealed, for the code exchange's proof.
	if ar.DPoPKey, err = p.NewDPoPKey(); err != nil {
		return err
	}
	authURL, err := p.AuthorizeURL(r.Context(), ar, q)
	if err != nil {
		return idpPage(err)
	}
	handle, err := session.NewID()
	if err != nil {
		return err
	}
	pl := pendingLogin{AR: ar, ReturnTo: returnTo, Handle: handle, Previous: h.readSessionID(r), IdP: name,
		Silent: p.PassedParams(q).Get("prompt") == "none"}
	if err := h.putLogin(r, &pl); err != nil {
		return err
	}
	h.setLoginHandles(c.Response(), newest(append(h.readLoginHandles(r), handle), h.cfg.MaxPendingLogins))
	h.d.Metrics.Login(LoginStarted)
	return c.Redirect(http.StatusFound, authURL)
}

// loginProvider is the provider /bff/login?idp= names: without oidc.providers the one
// provider ("", the parameter ignored as before); with them the named one, or the default
// when none is named; an unknown name is a 400 that lists the configured names (never
// the given one).
func (h *Handlers) loginProvider(given string) (string, Provider, error) {
	if h.names == nil {
		return "", h.d.IdP, nil
	}
	if given == "" {
		given = h.d.DefaultIdP
	}
	if p, ok := h.provider(given); ok && given != "" {
		return given, p, nil
	}
	return "", nil, problem.New(http.StatusBadRequest, problem.BadRequest,
		"unknown identity provider: idp must be one of "+strings.Join(h.names, ", "), errUnknownProvider)
}

// errUnknownProvider: /bff/login?idp= names no configured provider.
var errUnknownProvider = errors.New("handler: unknown identity provider")

// putLogin stores pl under its state for LoginTimeout.
func (h *Handlers) putLogin(r *http.Request, pl *pendingLogin) error {
	b, err := json.Marshal(pl)
	if err != nil {
		return fmt.Errorf("login: encode pending login: %w", err)
	}
	if err := h.d.Store.PutLogin(r.Context(), pl.AR.State, pl.Handle, b, h.cfg.LoginTimeout); err != nil {
		return storePage(err)
	}
	return nil
}

func idpPage(err error) *pageError {
	if errors.Is(err, idp.ErrMisconfigured) {
		return misconfiguredPage(err)
	}
	return page(http.StatusServiceUnavailable, "Sign-in is unavailable",
		"The identity provider cannot be reached right now. Please try again in a moment.", err)
}

var (
	// errNoLogin: the store holds no pending login for this state (unknown, expired or
	// already used), or the browser has no login cookie.
	errNoLogin = errors.New("no login in progress matches this state")
	// errNotThisBrowser: the pending login exists but was started by another browser (its
	// handle is not in this browser's login cookie): a planted or forwarded response.
	errNotThisBrowser = errors.New("the login in progress was started by another browser")
)

// takeLogin takes the pending login of state from the store (single use: a replay finds
// nothing) and checks that this browser's login cookie holds its handle; it then drops
// that handle from the cookie. A store failure wraps session.ErrUnavailable; anything
// else is errNoLogin or errNotThisBrowser.
func (h *Handlers) takeLogin(c echo.Context, state string) (*pendingLogin, error) {
	r := c.Request()
	handles := h.readLoginHandles(r)
	if len(handles) == 0 {
		return nil, errNoLogin // no store round trip for a browser that started no login
	}
	b, err := h.d.Store.TakeLogin(r.Context(), state, handles)
	switch {
	case errors.Is(err, session.ErrLoginNotBound):
		return nil, errNotThisBrowser // left in place: the browser that started it may still finish
	case errors.Is(err, session.ErrNotFound):
		return nil, fmt.Errorf("%w: %w", errNoLogin, err)
	case err != nil:
		return nil, fmt.Errorf("callback: take pending login: %w", err)
	}
	var pl pendingLogin
	if err := json.Unmarshal(b, &pl); err != nil {
		return nil, fmt.Errorf("%w: pending login does not decode", errNoLogin)
	}
	rest, ok := withoutHandle(handles, pl.Handle)
	if !ok || pl.Handle == "" {
		return nil, errNotThisBrowser
	}
	h.setLoginHandles(c.Response(), rest)
	return &pl, nil
}
