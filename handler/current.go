package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tokenward/bff/metrics"
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

// load reads the request's session: (nil, nil) when it has none (no cookie, several, one
// that does not open, or a record that is gone or unreadable); a store_unavailable problem
// when the store cannot answer. One store round trip.
func (h *Handlers) load(r *http.Request) (*current, error) {
	cur, _, err := h.lookup(r)
	return cur, err
}

// lookup is load that also says what the request's cookie amounted to: cookieLive with a
// session; cookieBad when the cookie does not open or names no live session (the caller
// clears it, see clearBadCookie); cookieNone or cookieDuplicate otherwise. It counts
// refused cookies and records, and logs the one security event of a record that does not
// open.
func (h *Handlers) lookup(r *http.Request) (*current, cookieState, error) {
	c := h.readSessionCookie(r)
	switch c.state {
	case cookieDuplicate:
		h.d.Metrics.SessionRejected(metrics.RejectedCookieDuplicate)
		return nil, c.state, nil
	case cookieBad:
		h.d.Metrics.SessionRejected(metrics.RejectedCookieInvalid)
		return nil, c.state, nil
	case cookieNone:
		return nil, c.state, nil
	}
	rec, err := h.d.Store.Get(r.Context(), c.id)
	switch {
	case errors.Is(err, session.ErrNotFound):
		h.noteUnreadable(r, err)
		return nil, cookieBad, nil
	case err != nil:
		return nil, c.state, storeProblem(err)
	}
	noteSession(r, session.IDHash(c.id))
	return &current{id: c.id, rec: rec, staleCookie: c.stale}, cookieLive, nil
}

// securityEventRecordRejected is the stable `event` attribute of the warning logged when
// a request's record does not open (docs/operations.md, "Logs").
const securityEventRecordRejected = "session_record_rejected"

// noteUnreadable counts and logs a record that exists but does not open: altered or moved
// in the store (someone with write access to it), or sealed by a retired key. A record
// that is merely gone (logout, expiry) is everyday business and is neither. The line
// carries no id, hash, key or cookie value: the reason and the request's own id suffice.
func (h *Handlers) noteUnreadable(r *http.Request, err error) {
	if !errors.Is(err, session.ErrUnreadable) {
		return
	}
	reason := metrics.RejectedRecordMalformed
	switch {
	case errors.Is(err, session.ErrRecordForged):
		reason = metrics.RejectedRecordForged
	case errors.Is(err, session.ErrRecordKeyUnknown):
		reason = metrics.RejectedRecordKey
	}
	h.d.Metrics.SessionRejected(reason)
	h.d.Logger.LogAttrs(r.Context(), slog.LevelWarn, "session record rejected",
		slog.String("event", securityEventRecordRejected), slog.String("reason", reason),
		slog.String("request_id", r.Header.Get(HeaderRequestID)), slog.String("path", r.URL.Path))
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
// first when it expires within the skew, or (force) because the upstream rejected it,
// with the session's identity for routes with identityHeaders. A cookie that names no
// live session, or a session that the refresh found ended (session_expired), is cleared
// on the response (cookie hygiene).
func (h *Handlers) AccessToken(r *http.Request, force bool) (proxy.Credential, error) {
	holder, _ := r.Context().Value(tokenHolderKey{}).(*tokenHolder)
	var setCookie func(*http.Cookie)
	if holder != nil {
		setCookie = holder.setCookie
	}
	cur := (*current)(nil)
	if force && holder != nil && holder.cur != nil {
		cur = holder.cur
	} else {
		var state cookieState
		var err error
		if cur, state, err = h.lookup(r); err != nil {
			return proxy.Credential{}, err
		}
		h.clearBadCookie(setCookie, r, state)
	}
	if cur == nil {
		return proxy.Credential{}, proxy.ErrNoSession
	}
	rec, err := h.d.Refresher.Fresh(r.Context(), cur.id, cur.rec, force)
	if errors.Is(err, refresh.ErrForcedRefreshCooldown) {
		return proxy.Credential{}, fmt.Errorf("handler: fresh token: %w: %w", proxy.ErrNoRetry, err)
	}
	if err != nil {
		if sessionEnded(err) {
			h.clearBadCookie(setCookie, r, cookieBad)
		}
		return proxy.Credential{}, fmt.Errorf("handler: fresh token: %w", err)
	}
	if holder != nil {
		if holder.cur == nil {
			h.resealCookie(holder.setCookie, cur)
		}
		holder.cur = &current{id: cur.id, rec: rec}
	}
	return credential(rec), nil
}

// credential is what the proxy gets for rec: its access token and who it belongs to.
func credential(rec *session.Record) proxy.Credential {
	email, _ := rec.Claims["email"].(string)
	username, _ := rec.Claims["preferred_username"].(string)
	return proxy.Credential{AccessToken: rec.AccessToken, Subject: rec.Subject, Email: email, PreferredUsername: username}
}

// sessionEnded reports whether err is the refresher's 401 session_expired: the session is
// over (its record deleted), so its cookie names nothing any more.
func sessionEnded(err error) bool {
	var pe *problem.Error
	return errors.As(err, &pe) && pe.Status == http.StatusUnauthorized && pe.Type == problem.SessionExpired
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
