package handler

import (
	"context"
	"errors"
	"net/http"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/problem"
)

// LocalSession is what a guarded in-process handler of the embedding application (a
// "local API", bff.Server.Protect) learns about its request: whose session it is, and a
// source of the session's credential for the handler's own server-side calls.
type LocalSession struct {
	Identity credential.Identity
	// Credentials is the request's credential.Source, the same one the proxy asks. Its
	// Get refreshes only when the token is about to expire, and only when called: a
	// handler that needs only the identity costs no refresh.
	Credentials credential.Source
}

// Local applies the proxied routes' rules to a request for a local API: the CSRF rule
// first (403 csrf), then the session (401 unauthenticated without one, clearing a cookie
// that names no live session; 503 store_unavailable when the store cannot answer). No
// refresh happens here: a local handler that needs no token must not cost an IdP call.
// w must still be unwritten: a stale or dead cookie is fixed on it.
func (h *Handlers) Local(w http.ResponseWriter, r *http.Request) (*LocalSession, error) {
	if err := h.CheckCSRF(r); err != nil {
		return nil, err
	}
	setCookie := func(c *http.Cookie) { http.SetCookie(w, c) }
	cur, state, err := h.lookup(r)
	if err != nil {
		return nil, err
	}
	if cur == nil {
		h.clearBadCookie(setCookie, r, state)
		return nil, problem.New(http.StatusUnauthorized, problem.Unauthenticated,
			"no session: log in at /bff/login first", nil)
	}
	h.resealCookie(setCookie, cur)
	return &LocalSession{Identity: h.identity(cur.rec), Credentials: h.Credentials(w, r)}, nil
}

// WriteError renders err for a local API as the public listener's renderer does for the
// proxied routes: a *problem.Error as problem+json, anything else as a 500 internal
// problem; the error's text reaches the log only, never the client.
func (h *Handlers) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var pr *problem.Error
	switch {
	case errors.As(err, &pr):
		logFailure(h.d.Logger, r, pr.Status, err)
		problem.Write(w, pr)
	case errors.Is(err, context.Canceled):
		w.WriteHeader(499) // the client left; nobody reads the answer
	default:
		logFailure(h.d.Logger, r, http.StatusInternalServerError, err)
		problem.Write(w, problem.New(http.StatusInternalServerError, problem.Internal, "", nil))
	}
}
