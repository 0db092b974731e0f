package demoop

import "net/http"

// serveEndSession runs the library's RP-initiated logout (it verifies id_token_hint and
// post_logout_redirect_uri, calls storage.TerminateSessionFromRequest, and redirects to
// the post-logout URI with state). When it succeeds, the OP session of the browser's
// cookie ends as well and the cookie is cleared, so the next authorize shows the form.
func (o *OP) serveEndSession(w http.ResponseWriter, r *http.Request) {
	cookie := sessionCookie(r)
	hook := &headerHook{ResponseWriter: w, before: func(status int, h http.Header) {
		// The library answers only a valid request with a 302 (errors are 400 or 500).
		if status != http.StatusFound || cookie == "" {
			return
		}
		o.store.endSessionByCookie(cookie)
		o.clearSessionCookie(h)
	}}
	o.provider.ServeHTTP(hook, r)
}
