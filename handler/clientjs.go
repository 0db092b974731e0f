package handler

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the built SPA client
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/metrics"
)

// The SPA client the BFF serves, so that a no-build app and the demo SPA run exactly the
// published @tokenward/client. clientjs/client.js is built from clients/js by its
// `npm run build` and committed, so the Go build needs no npm; clientjs_test.go checks
// that it matches its sources.
//
//go:embed clientjs/client.js
var clientJS []byte

const (
	pathClientJS     = "/bff/client.js"
	pathClientConfig = "/bff/client-config"
)

// clientJSETag is a strong validator of the embedded file: the URL is not versioned, so
// browsers revalidate it on every load (no-cache) and get a 304 until the BFF's upgrade.
var clientJSETag = func() string {
	sum := sha256.Sum256(clientJS)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// clientConfig is what the client needs to know before its first call. Nothing in it is
// a secret: the CSRF header's name protects nothing by being unknown.
type clientConfig struct {
	CSRFHeader string `json:"csrfHeader"`
}

// MountClient registers GET /bff/client.js (the client) and GET /bff/client-config (the
// CSRF header's name, so the client never disagrees with csrf.headerName). Neither needs
// the CSRF header: the client reads the name from the second before it can send it, and
// both answers are the same for everyone.
func (h *Handlers) MountClient(e *echo.Echo) {
	methods := []string{http.MethodGet, http.MethodHead}
	e.Match(methods, pathClientJS, serveClientJS)
	e.Match(methods, pathClientConfig, h.serveClientConfig)
}

func serveClientJS(c echo.Context) error {
	SetRoute(c.Request(), metrics.RouteClient)
	hd := c.Response().Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", clientJSETag)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Only this origin's pages load it: it is of no use anywhere else.
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	// ServeContent answers If-None-Match with 304 and HEAD without a body.
	http.ServeContent(c.Response(), c.Request(), "client.js", time.Time{}, bytes.NewReader(clientJS))
	return nil
}

func (h *Handlers) serveClientConfig(c echo.Context) error {
	SetRoute(c.Request(), metrics.RouteClient)
	hd := c.Response().Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	return c.JSON(http.StatusOK, clientConfig{CSRFHeader: h.d.CSRF.Name()})
}
