package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/dpop"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/refresh"
	"github.com/tokenward/bff/session"
)

// current is the session a request carries.
type current struct {
	id  string
	rec *session.Record
	// hash is session.IDHash(id), computed once per request: the log line, the stream
	// key and the session-end notices all use it.
	hash string
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
		h.d.Metrics.SessionRejected(RejectedCookieDuplicate)
		return nil, c.state, nil
	case cookieBad:
		h.d.Metrics.SessionRejected(RejectedCookieInvalid)
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
	cur := &current{id: c.id, rec: rec, hash: c.hash, staleCookie: c.stale}
	if !h.ownProvider(rec) {
		return nil, cookieBad, h.endOrphan(r, cur)
	}
	noteSession(r, cur.hash)
	return cur, cookieLive, nil
}

// endOrphan ends a session whose provider (Record.Provider) is no longer configured, or
// a record made before oidc.providers whose issuer is not the default provider's
// (ownProvider): its tokens cannot be refreshed, revoked or logged out anywhere, and must
// not be sent on.
// The request then has no session (its cookie is cleared); the end is logged once, with
// the provider's name (a configuration value, not a secret).
func (h *Handlers) endOrphan(r *http.Request, cur *current) error {
	if err := h.d.Store.Delete(r.Context(), cur.id); err != nil {
		return storeProblem(err)
	}
	h.d.Metrics.SessionEnded(metrics.EndedProviderRemoved, 1)
	h.d.OnEnd([]string{cur.hash})
	h.d.Logger.LogAttrs(r.Context(), slog.LevelWarn, "session ended: its provider is no longer configured, or did not issue its tokens",
		slog.String("provider", cur.rec.Provider), slog.String("request_id", r.Header.Get(HeaderRequestID)))
	return nil
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
	reason := RejectedRecordMalformed
	switch {
	case errors.Is(err, session.ErrRecordForged):
		reason = RejectedRecordForged
	case errors.Is(err, session.ErrRecordKeyUnknown):
		reason = RejectedRecordKey
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
	p := problem.New(http.StatusServiceUnavailable, problem.StoreUnavailable, "the session store is unavailable", err)
	// A store that cannot be read has no estimate of its own, but store outages end or fail
	// over within seconds: a short hint keeps well-behaved clients from retrying at once.
	p.RetryAfter = storeRetryAfter
	return p
}

// storeRetryAfter is the Retry-After of a 503 store_unavailable when nothing better is known.
const storeRetryAfter = time.Second

// orStoreRetry is d, or storeRetryAfter when d is not positive: every store_unavailable
// says when to come back.
func orStoreRetry(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return storeRetryAfter
}

// Credentials is the proxy's credential.SourceFunc: the credential source of one proxied
// request, answering for the session its cookie names. w is the request's response
// writer: a cookie that names no live session, or a session the refresh found ended, is
// cleared on it (cookie hygiene), and a cookie sealed under an older key is re-sealed.
func (h *Handlers) Credentials(w http.ResponseWriter, r *http.Request) credential.Source {
	return &requestSource{h: h, w: w, r: r, spec: credential.TokenSpecFrom(r.Context())}
}

// requestSource is the credential.Source of one proxied request. It remembers the session
// record whose credential it last returned, so that a forced refresh after an upstream 401
// knows which token the upstream rejected. Used by the request's goroutine only.
type requestSource struct {
	h   *Handlers
	w   http.ResponseWriter
	r   *http.Request
	cur *current // the session Get last answered for; nil before the first answer
	// spec is the route's token spec (credential.TokenSpecFrom); nil: the session's own token.
	spec *credential.TokenSpec
}

// Get returns the request's credential: a fresh access token for its session, refreshed
// first when it expires within the skew, or (force) because the upstream rejected the one
// Get returned before, with the session's identity.
func (s *requestSource) Get(ctx context.Context, force bool) (credential.Session, error) {
	h, cur := s.h, s.cur
	if !force || cur == nil {
		var state cookieState
		var err error
		if cur, state, err = h.lookup(s.r); err != nil {
			return credential.Session{}, err
		}
		h.clearBadCookie(s.setCookie, s.r, state)
	}
	if cur == nil {
		return credential.Session{}, credential.ErrNoSession
	}
	// The session's DPoP key (if any) proves every token request made for it.
	ctx = idp.WithDPoPKey(ctx, cur.rec.DPoPKey)
	if s.spec != nil {
		return s.getRoute(ctx, cur, force)
	}
	rec, err := h.d.Refresher.Fresh(ctx, cur.id, cur.rec, force)
	if err != nil {
		return credential.Session{}, s.tokenError(err)
	}
	s.answered(cur)
	s.cur = &current{id: cur.id, rec: rec, hash: cur.hash}
	sess, err := h.sessionCredential(rec)
	sess.Key = cur.hash
	return sess, err
}

func (s *requestSource) setCookie(c *http.Cookie) { http.SetCookie(s.w, c) }

// tokenError is what Get returns for the refresher's err: a declined forced refresh as
// credential.ErrNoRetry, anything else as its problem, an ended session's cookie cleared.
func (s *requestSource) tokenError(err error) error {
	if errors.Is(err, refresh.ErrForcedRefreshCooldown) {
		return fmt.Errorf("handler: fresh token: %w: %w", credential.ErrNoRetry, err)
	}
	if errors.Is(err, refresh.ErrSessionEnded) {
		s.h.clearBadCookie(s.setCookie, s.r, cookieBad)
	}
	return refreshProblem(err)
}

// answered re-seals a cookie sealed under an older key, on the request's first answer.
func (s *requestSource) answered(cur *current) {
	if s.cur == nil {
		s.h.resealCookie(s.setCookie, cur)
	}
}

// sessionCredential is what the proxy gets for rec: a credential of the record's token
// type, and who it belongs to.
func (h *Handlers) sessionCredential(rec *session.Record) (credential.Session, error) {
	cred, err := h.recordCredential(rec)
	if err != nil {
		return credential.Session{}, err
	}
	return credential.Session{Credential: cred, Identity: h.identity(rec)}, nil
}

// recordCredential is the credential of rec's access token, by its token type (the
// provider's token_type, which idp accepts as Bearer, or as DPoP with oidc.dpop on). A
// DPoP token goes with a proof of the record's key; a record of another type, or a DPoP
// token without a usable key, is refused rather than sent as a bearer: a
// sender-constrained token sent without its proof would only be rejected upstream.
func (h *Handlers) recordCredential(rec *session.Record) (credential.Credential, error) {
	if rec.AccessToken == "" {
		return nil, credential.ErrNoSession
	}
	switch {
	case rec.TokenType == "" || strings.EqualFold(rec.TokenType, "bearer"):
		return credential.NewBearer(rec.AccessToken), nil
	case strings.EqualFold(rec.TokenType, "DPoP"):
		key, err := dpop.ParseKey([]byte(rec.DPoPKey))
		if err != nil {
			return nil, problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable,
				"the session's DPoP key is unusable", fmt.Errorf("handler: session DPoP key: %w", err))
		}
		return credential.NewDPoP(rec.AccessToken, key, h.upstreamNonces), nil
	}
	return nil, problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable,
		"the session's access token is of a type this BFF cannot send", fmt.Errorf("handler: token type %q", rec.TokenType))
}

// identity is who rec belongs to, for identity headers and forward-auth. With several
// providers the subject is qualified by the provider's name ("name:sub", as the session
// indexes key it): two providers may give the same sub to two people, and an upstream
// that keys accounts by this header must not merge them.
func (h *Handlers) identity(rec *session.Record) credential.Identity {
	email, _ := rec.Claims["email"].(string)
	username, _ := rec.Claims["preferred_username"].(string)
	sub := rec.Subject
	if h.names != nil {
		sub = session.SubjectKey(h.providerName(rec), rec.Subject)
	}
	return credential.Identity{Subject: sub, Email: email, PreferredUsername: username}
}

// refreshProblem maps the refresher's domain errors to the problem the client gets:
// the one place where a refresh failure becomes HTTP. Other errors (the caller's context)
// pass through.
func refreshProblem(err error) error {
	var re *refresh.Error
	if !errors.As(err, &re) {
		return err
	}
	switch {
	case errors.Is(re.Kind, refresh.ErrSessionEnded):
		return problem.New(http.StatusUnauthorized, problem.SessionExpired, "the session has ended", err)
	case errors.Is(re.Kind, refresh.ErrRouteTokenRefused):
		return problem.New(http.StatusBadGateway, problem.TokenRefused, "the identity provider refused the token this route needs", err)
	case errors.Is(re.Kind, refresh.ErrIdPUnavailable):
		p := problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable, "the identity provider is unavailable", err)
		if errors.Is(err, idp.ErrMisconfigured) {
			p.Detail = "the identity provider refused the BFF's client credentials: the BFF is misconfigured"
		}
		p.RetryAfter = re.RetryAfter
		return p
	default:
		p := problem.New(http.StatusServiceUnavailable, problem.StoreUnavailable, "the session store is unavailable", err)
		// the time left while another attempt's tokens may still be saved; else the default
		p.RetryAfter = orStoreRetry(re.RetryAfter)
		return p
	}
}
