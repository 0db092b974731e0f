package handler

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/problem"
)

// userInfo is the body of GET /bff/user. It never carries a token.
type userInfo struct {
	Subject string         `json:"sub"`
	Claims  map[string]any `json:"claims,omitempty"`
	Session sessionInfo    `json:"session"`
	// LogoutURL is the GET logout link with this session's sid (for plain links/forms).
	LogoutURL string `json:"logoutUrl"`
}

type sessionInfo struct {
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	IdleTimeout int64     `json:"idleTimeoutSeconds"`
}

// user answers GET /bff/user: who is logged in, or 401 problem+json.
func (h *Handlers) user(c echo.Context) error {
	cur, err := h.load(c.Request())
	if err != nil {
		return err
	}
	if cur == nil {
		return problem.New(http.StatusUnauthorized, problem.Unauthenticated, "no session", nil)
	}
	h.resealCookie(func(ck *http.Cookie) { http.SetCookie(c.Response(), ck) }, cur)
	logout := pathLogout
	if cur.rec.SID != "" {
		logout += "?sid=" + url.QueryEscape(cur.rec.SID)
	}
	return c.JSON(http.StatusOK, userInfo{
		Subject: cur.rec.Subject,
		Claims:  cur.rec.Claims,
		Session: sessionInfo{
			CreatedAt: cur.rec.Created, ExpiresAt: cur.rec.AbsoluteExpiry,
			IdleTimeout: int64(h.cfg.IdleTimeout / time.Second),
		},
		LogoutURL: logout,
	})
}
