package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// GET /bff/session/events: a same-origin text/event-stream that tells the pages of a
// session what happens to it (docs/sessions.md, "Live session events"):
//
//	session   {"idleExpiresAt", "absoluteExpiresAt", "accessTokenExpiresAt", "idleTimeoutSeconds"}, first
//	refreshed {"accessTokenExpiresAt"}: a refresh saved new tokens (on any replica)
//	expiring  {"which": "idle"|"absolute", "at"}: the session ends within session.expiryWarning
//	ended     {"reason": "logout"|"backchannel"|"admin"|"expired"|"ended-elsewhere"}, then the stream ends
//	shutdown  {"reason": "shutdown"} with a retry hint, then the stream ends
//
// An open stream is NOT activity: it reads its session with Store.Peek, which never slides
// the idle expiry, so a forgotten tab does not keep a session alive. It learns of ends and
// refreshes from the replica's hub (eventhub.go), and of expiry from one timer set at the
// time the store says the session ends, checked then with another Peek.

// Reasons of the ended event.
const (
	endedLogout      = "logout"
	endedBackchannel = "backchannel"
	// endedAdmin: the admin kill-switch ended every session of the user (on this replica).
	endedAdmin   = "admin"
	endedExpired = "expired"
	// endedElsewhere: another replica (or this one, through the store) announced the end:
	// a logout, back-channel logout or an administrator's end, which one is not known here.
	endedElsewhere = "ended-elsewhere"
)

// Timings of a stream.
const (
	// eventsHeartbeat: a comment line this often keeps proxies and load balancers from
	// closing an idle stream (most cut at 60 s).
	eventsHeartbeat = 25 * time.Second
	// eventsWriteTimeout bounds each write: a client that stops reading is dropped.
	eventsWriteTimeout = 10 * time.Second
	// eventsStoreRetry: after a failed Peek the check is tried again this much later (a
	// store outage ends no stream).
	eventsStoreRetry = 5 * time.Second
	// eventsRetryMin and eventsRetrySpread: the reconnection delay announced at shutdown,
	// spread so that a replica's browsers do not all come back at once.
	eventsRetryMin    = 1000 // ms
	eventsRetrySpread = 2000 // ms
)

// sessionEventsInfo is the data of the first event.
type sessionEventsInfo struct {
	IdleExpiresAt        time.Time `json:"idleExpiresAt"`
	AbsoluteExpiresAt    time.Time `json:"absoluteExpiresAt"`
	AccessTokenExpiresAt time.Time `json:"accessTokenExpiresAt"`
	IdleTimeout          int64     `json:"idleTimeoutSeconds"`
}

// tooManyStreams is the 429 of a stream beyond a session's or a user's bound; the client
// may try again after a heartbeat (a tab may have closed meanwhile).
func tooManyStreams(detail string) error {
	p := problem.New(http.StatusTooManyRequests, problem.TooManyRequests, detail, nil)
	p.RetryAfter = eventsHeartbeat
	return p
}

// sessionEvents serves GET /bff/session/events.
func (h *Handlers) sessionEvents(c echo.Context) error {
	r := c.Request()
	if err := h.sameOriginStream(r); err != nil {
		return err
	}
	hash, rec, ends, err := h.peekSession(c)
	if err != nil {
		return err
	}
	subject := subjectKey(h.providerName(rec), rec.Subject)
	sub, refused := h.events.subscribe(hash, subject)
	switch refused {
	case hubSessionFull:
		return tooManyStreams(fmt.Sprintf("this session already has %d event streams open", h.events.perSession))
	case hubSubjectFull:
		return tooManyStreams(fmt.Sprintf("this user already has %d event streams open on this server", h.events.perSubject))
	case hubReplicaFull, hubClosed:
		p := problem.New(http.StatusServiceUnavailable, problem.TooManyRequests,
			"this server cannot open another event stream now", nil)
		p.RetryAfter = storeRetryAfter + time.Duration(rand.IntN(eventsRetrySpread))*time.Millisecond
		return p
	}
	defer h.events.unsubscribe(hash, subject, sub)
	st := &eventStream{h: h, c: c, rc: http.NewResponseController(c.Response()), hash: hash,
		ends: ends, access: rec.AccessExpiry, absolute: rec.AbsoluteExpiry}
	hd := c.Response().Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	c.Response().WriteHeader(http.StatusOK)
	if st.send("session", sessionEventsInfo{IdleExpiresAt: ends, AbsoluteExpiresAt: rec.AbsoluteExpiry,
		AccessTokenExpiresAt: rec.AccessExpiry, IdleTimeout: int64(h.cfg.IdleTimeout / time.Second)}) != nil {
		return nil
	}
	st.run(sub)
	return nil
}

// sameOriginStream refuses an events request another site started. EventSource cannot send
// the CSRF header, so the browser's own word decides: Sec-Fetch-Site must be same-origin;
// a browser that sends none must send an Origin (or else a Referer) of the public origin.
// A request with neither is refused: nothing then says it came from the app's pages.
func (h *Handlers) sameOriginStream(r *http.Request) error {
	refuse := func(detail string) error {
		return problem.New(http.StatusForbidden, problem.CSRF, detail, nil)
	}
	if sites := r.Header.Values("Sec-Fetch-Site"); len(sites) > 0 {
		if len(sites) != 1 || sites[0] != "same-origin" {
			return refuse("the session events stream is for the app's own pages only")
		}
		return nil
	}
	want := h.d.CSRF.Origin()
	if origins := r.Header.Values("Origin"); len(origins) > 0 {
		if len(origins) != 1 || origins[0] != want {
			return refuse("the request's origin is not allowed")
		}
		return nil
	}
	if refs := r.Header.Values("Referer"); len(refs) == 1 {
		if u, err := url.Parse(refs[0]); err == nil && u.Scheme != "" && u.Scheme+"://"+u.Host == want {
			return nil
		}
	}
	return refuse("the session events stream needs Sec-Fetch-Site or an Origin")
}

// peekSession is the request's session read WITHOUT sliding its idle expiry: its id
// hash, record and the time it ends; or a 401 problem (clearing a cookie that names no
// live session) or a store problem.
func (h *Handlers) peekSession(c echo.Context) (string, *session.Record, time.Time, error) {
	r := c.Request()
	ck := h.readSessionCookie(r)
	state := ck.state
	if state == cookieLive {
		hash := ck.hash
		rec, ends, err := h.d.Store.Peek(r.Context(), hash)
		switch {
		case err == nil:
			noteSession(r, hash)
			return hash, rec, ends, nil
		case !errors.Is(err, session.ErrNotFound):
			return "", nil, time.Time{}, storeProblem(err)
		}
		h.noteUnreadable(r, err)
		state = cookieBad
	}
	h.clearBadCookie(func(k *http.Cookie) { http.SetCookie(c.Response(), k) }, r, state)
	return "", nil, time.Time{}, problem.New(http.StatusUnauthorized, problem.Unauthenticated, "no session", nil)
}

// eventStream is one open stream, run by its handler's goroutine only.
type eventStream struct {
	h    *Handlers
	c    echo.Context
	rc   *http.ResponseController
	hash string
	// ends is when the store says the session ends (idle or absolute); access the access
	// token's expiry last sent; absolute the session's absolute expiry.
	ends, access, absolute time.Time
	warned                 bool      // an expiring event was sent for the current ends
	checkAt                time.Time // a Peek is due (zero: at ends)
}

// run sends events until the session ends, the client goes, or the replica shuts down.
func (st *eventStream) run(sub *eventSub) {
	ctx := st.c.Request().Context()
	now := st.h.d.Now()
	beat := now.Add(eventsHeartbeat)
	timer := time.NewTimer(st.next(now, beat))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.wake:
			flags, reason := st.h.events.take(sub)
			switch {
			case flags&wakeEnded != 0:
				_ = st.send("ended", map[string]string{"reason": reason})
				return
			case flags&wakeShutdown != 0:
				st.shutdown()
				return
			case flags&wakeRecheck != 0:
				if !st.check() {
					return
				}
			}
		case <-timer.C:
			now = st.h.d.Now()
			if !now.Before(beat) {
				if st.comment() != nil {
					return
				}
				beat = now.Add(eventsHeartbeat)
			}
			if st.due(now) && !st.check() {
				return
			}
		}
		timer.Reset(st.next(st.h.d.Now(), beat))
	}
}

// warnAt is when the expiring event is due (zero: none).
func (st *eventStream) warnAt() time.Time {
	w := st.h.cfg.ExpiryWarning
	if w <= 0 || st.warned {
		return time.Time{}
	}
	return st.ends.Add(-w)
}

// due reports whether the session must be read again at now: its end or its warning time
// has come, or a retry after a store failure.
func (st *eventStream) due(now time.Time) bool {
	if !st.checkAt.IsZero() {
		return !now.Before(st.checkAt)
	}
	if w := st.warnAt(); !w.IsZero() && !now.Before(w) {
		return true
	}
	return !now.Before(st.ends)
}

// next is how long the timer waits: until the heartbeat, the warning, the end or a retry.
func (st *eventStream) next(now, beat time.Time) time.Duration {
	at := beat
	for _, t := range []time.Time{st.warnAt(), st.ends, st.checkAt} {
		if !t.IsZero() && t.Before(at) {
			at = t
		}
	}
	return max(at.Sub(now), time.Millisecond)
}

// check reads the session again (without sliding it) and sends what changed: ended when
// it is gone, refreshed when its access token changed, expiring when its end is near.
// false: the stream is over.
func (st *eventStream) check() bool {
	ctx := st.c.Request().Context()
	rec, ends, err := st.h.d.Store.Peek(ctx, st.hash)
	now := st.h.d.Now()
	switch {
	case errors.Is(err, session.ErrNotFound):
		reason := endedElsewhere
		if !now.Before(st.ends) { // gone at (or after) the time it was due to end
			reason = endedExpired
		}
		_ = st.send("ended", map[string]string{"reason": reason})
		return false
	case err != nil:
		if ctx.Err() != nil {
			return false
		}
		st.checkAt = now.Add(eventsStoreRetry)
		return true
	}
	st.checkAt = time.Time{}
	if ends.After(st.ends) && ends.Add(-st.h.cfg.ExpiryWarning).After(now) {
		// Activity elsewhere slid the idle expiry out of the warning window: warn again
		// when it comes near. (An end read a few ms later than foreseen is no slide.)
		st.warned = false
	}
	st.ends = ends
	if !rec.AccessExpiry.Equal(st.access) {
		st.access = rec.AccessExpiry
		if st.send("refreshed", map[string]time.Time{"accessTokenExpiresAt": rec.AccessExpiry}) != nil {
			return false
		}
	}
	if w := st.warnAt(); !w.IsZero() && !now.Before(w) {
		st.warned = true
		which := "idle"
		if !ends.Before(st.absolute) {
			which = "absolute"
		}
		return st.send("expiring", map[string]any{"which": which, "at": ends}) == nil
	}
	return true
}

// shutdown ends the stream for a replica going away: a retry hint, then the event.
func (st *eventStream) shutdown() {
	ms := eventsRetryMin + rand.IntN(eventsRetrySpread)
	_ = st.write(fmt.Appendf(nil, "retry: %d\nevent: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n", ms))
}

// send writes one event with data as JSON.
func (st *eventStream) send(event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return st.write(fmt.Appendf(nil, "event: %s\ndata: %s\n\n", event, b))
}

// comment writes the heartbeat.
func (st *eventStream) comment() error { return st.write([]byte(": keep-alive\n\n")) }

// write sends p at once, within eventsWriteTimeout.
func (st *eventStream) write(p []byte) error {
	_ = st.rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout))
	if _, err := st.c.Response().Write(p); err != nil {
		return err
	}
	return st.rc.Flush()
}
