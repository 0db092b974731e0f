package handler

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// userInfo is the body of GET /bff/user. It never carries a token.
type userInfo struct {
	Subject string `json:"sub"`
	// Provider names the provider the user logged in at (oidc.providers); absent without them.
	Provider string         `json:"provider,omitempty"`
	Claims   map[string]any `json:"claims,omitempty"`
	Session  sessionInfo    `json:"session"`
	// LogoutURL is the GET logout link with this session's logout handle as its `sid`
	// parameter (for plain links/forms).
	LogoutURL string `json:"logoutUrl"`
}

type sessionInfo struct {
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	IdleTimeout int64     `json:"idleTimeoutSeconds"`
}

// user answers GET /bff/user: who is logged in, or 401 problem+json (clearing a cookie that
// names no live session).
func (h *Handlers) user(c echo.Context) error {
	cur, err := h.session(c)
	if err != nil {
		return err
	}
	h.resealCookie(func(ck *http.Cookie) { http.SetCookie(c.Response(), ck) }, cur)
	logout := pathLogout
	if handle := logoutHandle(cur.rec); handle != "" {
		logout += "?sid=" + url.QueryEscape(handle)
	}
	return c.JSON(http.StatusOK, userInfo{
		Subject:  cur.rec.Subject,
		Provider: h.providerName(cur.rec),
		Claims:   cur.rec.Claims,
		Session: sessionInfo{
			CreatedAt: cur.rec.Created, ExpiresAt: cur.rec.AbsoluteExpiry,
			IdleTimeout: int64(h.cfg.IdleTimeout / time.Second),
		},
		LogoutURL: logout,
	})
}

// providerName is the name of rec's provider: a record made before oidc.providers
// existed (Provider "") belongs to the default provider.
func (h *Handlers) providerName(rec *session.Record) string {
	if rec.Provider == "" && h.names != nil {
		return h.d.DefaultIdP
	}
	return rec.Provider
}

// session is the request's live session for a JSON endpoint, or a 401 unauthenticated
// problem; a cookie that names no live session is cleared with it (cookie hygiene).
func (h *Handlers) session(c echo.Context) (*current, error) {
	r := c.Request()
	cur, state, err := h.lookup(r)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		return cur, nil
	}
	h.clearBadCookie(func(ck *http.Cookie) { http.SetCookie(c.Response(), ck) }, r, state)
	detail := "no session"
	if state == cookieDuplicate {
		detail = "more than one session cookie: no session"
	}
	return nil, problem.New(http.StatusUnauthorized, problem.Unauthenticated, detail, nil)
}

// logoutHandle is the value GET /bff/logout?sid=… must carry for rec: its own random
// handle, or, for a record made before handles existed, the IdP's sid ("" if neither).
func logoutHandle(rec *session.Record) string {
	if rec.LogoutHandle != "" {
		return rec.LogoutHandle
	}
	return rec.SID
}
