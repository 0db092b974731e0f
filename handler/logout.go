package handler

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/session"
)

// logoutAnswer is the body of POST /bff/logout: where the browser goes next (the IdP's
// end-session URL, or the post-logout path when the IdP has none).
type logoutAnswer struct {
	LogoutURL string `json:"logoutUrl"`
}

// logoutPost ends the session (POST /bff/logout, CSRF-checked) and answers with the
// RP-initiated logout URL for the SPA to navigate to. Without a session it still answers
// 200: logging out is idempotent.
func (h *Handlers) logoutPost(c echo.Context) error {
	cur, err := h.load(c.Request())
	if err != nil {
		return err
	}
	target := h.cfg.PostLogoutPath
	if cur != nil {
		if err := h.end(c.Request().Context(), cur); err != nil {
			return storeProblem(err)
		}
		target = h.endSessionURL(cur.rec)
	}
	h.clearSessionCookie(c.Response())
	return c.JSON(http.StatusOK, logoutAnswer{LogoutURL: target})
}

// logoutGet is the link form: GET /bff/logout?sid=… ends the session only when sid equals
// the session's IdP sid (the sid proves the request came from a page that read /bff/user,
// standing in for the CSRF header a link cannot send).
func (h *Handlers) logoutGet(c echo.Context) error {
	cur, err := h.load(c.Request())
	if err != nil {
		return page(http.StatusServiceUnavailable, "Logout is unavailable", "The session store cannot be reached right now.", err)
	}
	if cur == nil {
		h.clearSessionCookie(c.Response())
		return c.Redirect(http.StatusFound, h.cfg.PostLogoutPath)
	}
	sid := c.QueryParam("sid")
	if cur.rec.SID == "" || subtle.ConstantTimeCompare([]byte(sid), []byte(cur.rec.SID)) != 1 {
		return page(http.StatusBadRequest, "Logout refused", "This logout link does not belong to your session.", nil)
	}
	if err := h.end(c.Request().Context(), cur); err != nil {
		return page(http.StatusServiceUnavailable, "Logout is unavailable", "The session store cannot be reached right now.", err)
	}
	h.clearSessionCookie(c.Response())
	return c.Redirect(http.StatusFound, h.endSessionURL(cur.rec))
}

// end revokes the refresh token (RFC 7009, best effort: the session ends either way),
// deletes the session and cuts its live streams.
func (h *Handlers) end(ctx context.Context, cur *current) error {
	if cur.rec.RefreshToken != "" {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := h.d.IdP.Revoke(rctx, cur.rec.RefreshToken); err != nil {
			h.d.Logger.Warn("refresh token revocation failed", "err", err)
		}
		cancel()
	}
	if err := h.d.Store.Delete(ctx, cur.id); err != nil {
		return err
	}
	h.d.Metrics.SessionEnded(metrics.EndedLogout, 1)
	h.d.OnEnd([]string{session.IDHash(cur.id)})
	return nil
}

func (h *Handlers) endSessionURL(rec *session.Record) string {
	if u, ok := h.d.IdP.EndSessionURL(rec.IDToken, ""); ok {
		return u
	}
	return h.cfg.PostLogoutPath
}
