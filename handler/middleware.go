package handler

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/problem"
)

// RejectH2C refuses `Upgrade: h2c` on every request: a cleartext HTTP/2 upgrade through a
// proxy is a request-smuggling vector (docs/security.md, "request smuggling").
func RejectH2C(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for _, v := range c.Request().Header.Values("Upgrade") {
			if strings.Contains(strings.ToLower(v), "h2c") {
				return problem.New(http.StatusBadRequest, problem.BadRequest, "h2c upgrade is not allowed", nil)
			}
		}
		return next(c)
	}
}

// noStore keeps every /bff/* answer out of shared and browser caches.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}

// CheckCSRF applies the CSRF rule (the header, Sec-Fetch-Site, a websocket's Origin) to
// r: nil, or a 403 problem ready to render. The proxied routes use it too, so that one
// checker holds the rule for the whole public listener.
func (h *Handlers) CheckCSRF(r *http.Request) error { return h.d.CSRF.Check(r) }

// requireCSRF applies the CSRF rule to JSON /bff/* calls.
func (h *Handlers) requireCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h.CheckCSRF(c.Request()); err != nil {
			return err
		}
		return next(c)
	}
}

func notFound(echo.Context) error {
	return problem.New(http.StatusNotFound, problem.NotFound, "no such endpoint", nil)
}

// rateLimited refuses a client IP past its login budget with a 429 page (these are
// navigations). Each login costs the IdP work and a login cookie slot.
func (h *Handlers) rateLimited(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.d.Limiter == nil {
			return next(c)
		}
		if ok, wait := h.d.Limiter.Take(c.Request()); !ok {
			c.Response().Header().Set("Retry-After", retryAfter(wait))
			return page(http.StatusTooManyRequests, "Too many sign-in attempts",
				"Please wait a minute before trying again.", nil)
		}
		return next(c)
	}
}

// retryAfter is wait in whole seconds, rounded up, at least 1 (Retry-After's unit).
func retryAfter(wait time.Duration) string {
	return strconv.FormatInt(max(int64((wait+time.Second-1)/time.Second), 1), 10)
}
