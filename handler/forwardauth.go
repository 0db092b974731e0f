package handler

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/problem"
)

// forwardAuth answers an ingress's auth subrequest (GET /bff/auth): 200 with the bearer to
// copy upstream (ingress-nginx auth-response-headers, Traefik authResponseHeaders, Envoy
// ext_authz allowed_upstream_headers), refreshed as needed, or 401. The session id never
// changes on refresh, so no Set-Cookie has to travel back through the ingress.
//
// With ?redirect=1 (for Traefik and Envoy, which pass the auth answer to the browser) a
// GET navigation without a session is sent to /bff/login with the original URI as
// returnTo — only when a trusted proxy named that URI and it passes CheckReturnTo.
// ingress-nginx wants a 401 and redirects itself (auth-signin).
//
// It is off unless server.forwardAuth, and answers only peers in server.trustedProxies (the
// ingress): its 200 carries the access
// token in a response header, which a script on the app's own origin could read if the
// browser could reach this endpoint — the one way an XSS could get a token out of a BFF.
// Keep /bff/auth off the public ingress routes too (docs/deploy/ingress.md).
func (h *Handlers) forwardAuth(c echo.Context) error {
	r := c.Request()
	if !h.cfg.ForwardAuth {
		return problem.New(http.StatusNotFound, problem.NotFound, "forward-auth is off (server.forwardAuth)", nil)
	}
	if !h.fromTrustedProxy(r) {
		return problem.New(http.StatusForbidden, problem.Forbidden, "forward-auth answers the ingress only (server.trustedProxies)", nil)
	}
	cur, err := h.load(r)
	if err != nil {
		return err
	}
	if cur == nil {
		if target, ok := h.loginRedirect(r); ok {
			return c.Redirect(http.StatusFound, target)
		}
		return problem.New(http.StatusUnauthorized, problem.Unauthenticated, "no session", nil)
	}
	rec, err := h.d.Refresher.Fresh(idp.WithDPoPKey(r.Context(), cur.rec.DPoPKey), cur.id, cur.rec, false)
	if err != nil {
		return refreshProblem(err)
	}
	sess, err := h.sessionCredential(rec)
	if err != nil {
		return err
	}
	// The ingress copies these response headers onto the request it forwards: the
	// credential sets them as it would on that request. A bearer does not depend on the
	// request; a DPoP proof is bound to the forwarded request's method and URL, as the
	// trusted ingress names them, not to this subrequest (forwardedTarget).
	out := &http.Request{Method: http.MethodGet, URL: r.URL, Header: c.Response().Header()}
	if _, isDPoP := sess.Credential.(credential.DPoP); isDPoP {
		if out.Method, out.URL, err = h.forwardedTarget(r); err != nil {
			return err
		}
	}
	hd := out.Header
	if err := sess.Credential.Apply(out); err != nil {
		return fmt.Errorf("handler: forward-auth credential: %w", err)
	}
	h.setIdentityHeaders(hd, sess.Identity)
	return c.NoContent(http.StatusOK)
}

// forwardedTarget is the method and URL of the request the ingress is about to forward,
// from its X-Forwarded-Method (or X-Original-Method; else this subrequest's method, as
// Envoy calls with the original's), X-Forwarded-Proto, X-Forwarded-Host and
// X-Forwarded-Uri (or X-Original-URL): a DPoP proof is bound to them. Without them there
// is nothing to bind to: 400, naming the headers the ingress must send; a value that is
// no method, scheme or host[:port] is a 400 naming that header (forwardedURL).
func (h *Handlers) forwardedTarget(r *http.Request) (string, *url.URL, error) {
	method, uri, ok := h.originalRequest(r)
	if method == "" {
		method = r.Method
	}
	proto, host := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")
	if !ok || proto == "" || host == "" || !strings.HasPrefix(uri, "/") {
		return "", nil, problem.New(http.StatusBadRequest, problem.BadRequest,
			"forward-auth with DPoP needs the ingress to send X-Forwarded-Method, -Proto, -Host and -Uri", nil)
	}
	return forwardedURL(method, proto, host, uri)
}

// setIdentityHeaders sets the configured identity headers (server.forwardAuthHeaders)
// that have a name and a value.
func (h *Handlers) setIdentityHeaders(hd http.Header, cred credential.Identity) {
	for _, f := range [...]struct{ name, value string }{
		{h.cfg.ForwardAuthUser, cred.Subject},
		{h.cfg.ForwardAuthEmail, cred.Email},
		{h.cfg.ForwardAuthUsername, cred.PreferredUsername},
	} {
		if f.name != "" && f.value != "" {
			hd.Set(f.name, f.value)
		}
	}
}

// loginRedirect is the login URL for an unauthenticated forward-auth navigation.
func (h *Handlers) loginRedirect(r *http.Request) (string, bool) {
	if r.URL.Query().Get("redirect") != "1" {
		return "", false
	}
	method, uri, ok := h.originalRequest(r)
	if method == "" {
		method = r.Method // Envoy calls with the original request's method
	}
	if !ok || method != http.MethodGet {
		return "", false
	}
	rt, err := CheckReturnTo(uri)
	if err != nil {
		return "", false
	}
	return pathLogin + "?returnTo=" + url.QueryEscape(rt), true
}
