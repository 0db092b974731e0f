package handler

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// logoutAnswer is the body of POST /bff/logout: where the browser goes next (the IdP's
// end-session URL, or the post-logout path when the IdP has none).
type logoutAnswer struct {
	LogoutURL string `json:"logoutUrl"`
}

// logoutPost ends the session (POST /bff/logout, CSRF-checked) and answers with the
// RP-initiated logout URL for the SPA to navigate to. Without a session it still answers
// 200 (logging out is idempotent), clearing a cookie that names no live session; with two
// session cookies it answers 401 and clears nothing (see cookieDuplicate). With
// ?everywhere=1 it ends every session of the user (endEverywhere), this one included.
func (h *Handlers) logoutPost(c echo.Context) error {
	r := c.Request()
	cur, state, err := h.lookup(r)
	if err != nil {
		return err
	}
	if state == cookieDuplicate {
		return problem.New(http.StatusUnauthorized, problem.Unauthenticated, "more than one session cookie: no session", nil)
	}
	if cur == nil {
		h.clearBadCookie(func(ck *http.Cookie) { http.SetCookie(c.Response(), ck) }, r, state)
		return c.JSON(http.StatusOK, logoutAnswer{LogoutURL: h.cfg.PostLogoutPath})
	}
	if c.QueryParam("everywhere") == "1" { // sign out everywhere (docs/sessions.md)
		ended, err := h.endEverywhere(r.Context(), cur)
		// What ended before a failure has ended: count it and cut its streams.
		h.d.Metrics.SessionEnded(metrics.EndedLogout, len(ended))
		h.events.ended(endedLogout, ended...) // this replica's streams know why
		h.d.OnEnd(ended)
		if err != nil {
			return storeProblem(err)
		}
	} else if err := h.end(r.Context(), cur); err != nil {
		return storeProblem(err)
	}
	h.clearSessionCookie(c.Response())
	return c.JSON(http.StatusOK, logoutAnswer{LogoutURL: h.endSessionURL(cur.rec)})
}

// logoutGet is the link form: GET /bff/logout?sid=… ends the session only when the
// parameter equals the session's logout handle (see logoutHandle), which only a page that
// read /bff/user knows: it stands in for the CSRF header a link cannot send. A navigation
// another site started changes nothing, whatever it carries (logout CSRF): with the
// default SameSite=Strict it arrives without the cookie, with lax it arrives with it.
func (h *Handlers) logoutGet(c echo.Context) error {
	r := c.Request()
	if crossSite(r) {
		return page(http.StatusForbidden, "Logout refused",
			"This logout link was opened from another site. Use the application's own logout button.", errCrossSiteLogout)
	}
	cur, state, err := h.lookup(r)
	if err != nil {
		return page(http.StatusServiceUnavailable, "Logout is unavailable", "The session store cannot be reached right now.", err)
	}
	if cur == nil {
		h.clearBadCookie(func(ck *http.Cookie) { http.SetCookie(c.Response(), ck) }, r, state)
		return c.Redirect(http.StatusFound, h.cfg.PostLogoutPath)
	}
	if !logoutHandleMatches(cur.rec, c.QueryParam("sid")) {
		return page(http.StatusBadRequest, "Logout refused", "This logout link does not belong to your session.", errWrongLogoutHandle)
	}
	if err := h.end(r.Context(), cur); err != nil {
		return page(http.StatusServiceUnavailable, "Logout is unavailable", "The session store cannot be reached right now.", err)
	}
	h.clearSessionCookie(c.Response())
	return c.Redirect(http.StatusFound, h.endSessionURL(cur.rec))
}

// Why a GET logout was refused (logs only).
var (
	errCrossSiteLogout   = errors.New("handler: GET logout started by another site")
	errWrongLogoutHandle = errors.New("handler: GET logout without the session's logout handle")
)

// logoutHandleMatches compares the link's sid parameter with rec's logout handle in
// constant time (the handle is a secret of the session's pages).
func logoutHandleMatches(rec *session.Record, given string) bool {
	want := logoutHandle(rec)
	return want != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

// end revokes the refresh token (RFC 7009, best effort: the session ends either way),
// deletes the session and cuts its live streams.
func (h *Handlers) end(ctx context.Context, cur *current) error {
	if cur.rec.RefreshToken != "" {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := h.sessionIdP(cur.rec).Revoke(rctx, cur.rec.RefreshToken); err != nil {
			h.d.Logger.Warn("refresh token revocation failed", "err", err)
		}
		cancel()
	}
	if err := h.d.Store.Delete(ctx, cur.id); err != nil {
		return err
	}
	h.d.Metrics.SessionEnded(metrics.EndedLogout, 1)
	h.events.ended(endedLogout, cur.hash) // this replica's event streams know why
	h.d.OnEnd([]string{cur.hash})
	return nil
}

func (h *Handlers) endSessionURL(rec *session.Record) string {
	// the session's own provider (lookup refused a record of a provider not configured)
	if u, ok := h.sessionIdP(rec).EndSessionURL(rec.IDToken, ""); ok {
		return u
	}
	return h.cfg.PostLogoutPath
}
