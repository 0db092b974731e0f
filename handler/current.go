package handler

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/proxy"
	"github.com/tokenward/bff/refresh"
	"github.com/tokenward/bff/session"
)

// current is the session a request carries.
type current struct {
	id  string
	rec *session.Record
	// staleCookie: the cookie was sealed with an older key (re-issue it).
	staleCookie bool
}

// load reads the request's session: (nil, nil) when it has none (no cookie, a cookie that
// does not open, or a record that is gone); a store_unavailable problem when the store
// cannot answer. One store round trip.
func (h *Handlers) load(r *http.Request) (*current, error) {
	id, stale := h.readSessionCookie(r)
	if id == "" {
		return nil, nil
	}
	rec, err := h.d.Store.Get(r.Context(), id)
	switch {
	case errors.Is(err, session.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, storeProblem(err)
	}
	noteSession(r, session.IDHash(id))
	return &current{id: id, rec: rec, staleCookie: stale}, nil
}

func storeProblem(err error) error {
	if errors.Is(err, context.Canceled) && !errors.Is(err, session.ErrUnavailable) {
		return err
	}
	return problem.New(http.StatusServiceUnavailable, problem.StoreUnavailable, "the session store is unavailable", err)
}

// tokenHolder remembers, for one proxied request, the record whose token was sent, so that
// a forced refresh after an upstream 401 knows which token the upstream rejected; and how
// to add a Set-Cookie to the response (re-sealing a cookie after key rotation).
type tokenHolder struct {
	cur       *current
	setCookie func(*http.Cookie)
}

type tokenHolderKey struct{}

// WithTokenHolder prepares r's context for AccessToken; the proxy mount calls it once per
// request with the response's writer (whose headers are still unsent).
func WithTokenHolder(w http.ResponseWriter, r *http.Request) *http.Request {
	th := &tokenHolder{setCookie: func(c *http.Cookie) { http.SetCookie(w, c) }}
	return r.WithContext(context.WithValue(r.Context(), tokenHolderKey{}, th))
}

// AccessToken is the proxy's TokenFunc: a fresh access token for r's session, refreshed
// first when it expires within the skew, or (force) because the upstream rejected it.
func (h *Handlers) AccessToken(r *http.Request, force bool) (string, error) {
	holder, _ := r.Context().Value(tokenHolderKey{}).(*tokenHolder)
	cur := (*current)(nil)
	if force && holder != nil && holder.cur != nil {
		cur = holder.cur
	} else {
		var err error
		if cur, err = h.load(r); err != nil {
			return "", err
		}
	}
	if cur == nil {
		return "", proxy.ErrNoSession
	}
	rec, err := h.d.Refresher.Fresh(r.Context(), cur.id, cur.rec, force)
	if errors.Is(err, refresh.ErrForcedRefreshCooldown) {
		return "", fmt.Errorf("handler: fresh token: %w: %w", proxy.ErrNoRetry, err)
	}
	if err != nil {
		return "", fmt.Errorf("handler: fresh token: %w", err)
	}
	if holder != nil {
		if holder.cur == nil {
			h.resealCookie(holder.setCookie, cur)
		}
		holder.cur = &current{id: cur.id, rec: rec}
	}
	return rec.AccessToken, nil
}

// SessionKey is the stable key of r's session for stream tracking: the id hash, which is
// also what DeleteBySID returns. "" when r has no session cookie.
func (h *Handlers) SessionKey(r *http.Request) string {
	id := h.readSessionID(r)
	if id == "" {
		return ""
	}
	return session.IDHash(id)
}
