package handler

import (
	"github.com/labstack/echo/v4"
)

// The public endpoints of the external contract (README, docs/spa.md); nothing else under /bff/.
const (
	pathLogin       = "/bff/login"
	pathCallback    = "/bff/callback"
	pathUser        = "/bff/user"
	pathLogout      = "/bff/logout"
	pathBackchannel = "/bff/backchannel-logout"
	pathAuth        = "/bff/auth"
	pathSessions    = "/bff/sessions"
	pathEvents      = "/bff/session/events"

	// PathPrefix is reserved for the BFF; no route or SPA path may live under it.
	PathPrefix = "/bff/"
)

// Mount registers the /bff/* endpoints on e and installs the error renderer. Routes and
// the SPA are mounted by the caller (bff.New) after it.
func (h *Handlers) Mount(e *echo.Echo) {
	e.HTTPErrorHandler = errorHandler(h.d.Logger)
	g := e.Group("/bff", noStore)
	g.GET("/login", h.login, h.rateLimited)
	g.GET("/callback", h.callback, h.rateLimited)
	g.GET("/user", h.user, h.requireCSRF)
	// EventSource cannot send the CSRF header: the stream checks the browser's own
	// Sec-Fetch-Site / Origin instead (sameOriginStream).
	g.GET("/session/events", h.sessionEvents)
	g.POST("/logout", h.logoutPost, h.requireCSRF)
	g.GET("/logout", h.logoutGet)
	g.GET("/sessions", h.sessions, h.requireCSRF)
	g.DELETE("/sessions/:handle", h.endSessionByHandle, h.requireCSRF)
	g.POST("/backchannel-logout", h.backchannel)
	// Any method: Envoy's ext_authz calls with the original request's method.
	g.Any("/auth", h.forwardAuth)
	// Envoy Gateway's extAuth appends the request's path: /bff/auth/<path> is /bff/auth.
	g.Any("/auth/*", h.forwardAuth)
	g.Any("/*", notFound)
}
