package handler

import (
	"net/http"
	"time"
)

// maxCookieValue bounds what we try to decode (securecookie's own limit is 4096).
const maxCookieValue = 4096

// OwnsCookie reports whether name is one of the BFF's own cookies, which no upstream may set.
func OwnsCookie(sessionCookie string) func(name string) bool {
	return func(name string) bool {
		return name == sessionCookie || name == loginCookie
	}
}

func (h *Handlers) sameSite() http.SameSite {
	if h.cfg.SameSite == "lax" {
		return http.SameSiteLaxMode
	}
	return http.SameSiteStrictMode
}

func (h *Handlers) sessionCookie(value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: h.cfg.CookieName, Value: value, Path: "/",
		MaxAge: int(maxAge / time.Second), Secure: true, HttpOnly: true, SameSite: h.sameSite(),
	}
}

// clearSessionCookie expires the browser's session cookie. Callers must only clear a cookie
// the request presented (clearBadCookie): answering a request that carried none with a
// clearing Set-Cookie deletes a cookie the browser merely withheld (SameSite=Strict on a
// cross-site navigation), which is a logout CSRF.
func (h *Handlers) clearSessionCookie(w http.ResponseWriter) {
	c := h.sessionCookie("", 0)
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// clearBadCookie clears a session cookie that r presented and that names no live session
// (cookie hygiene), except on a cross-site request: whatever it carries, a request another
// site started never changes a cookie.
func (h *Handlers) clearBadCookie(set func(*http.Cookie), r *http.Request, state cookieState) {
	if state != cookieBad || crossSite(r) || set == nil {
		return
	}
	c := h.sessionCookie("", 0)
	c.MaxAge = -1
	set(c)
}

// crossSite reports whether the browser says another site started r (Sec-Fetch-Site
// cross-site or same-site: a sibling subdomain is not trusted either, as in the CSRF rule).
// Without the header (an old browser, a non-browser client) it says false.
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return false
	}
	return true
}

// cookieState is what a request's session cookies amount to.
type cookieState int

const (
	// cookieNone: the request carries no session cookie. Nothing to clear: the browser may
	// hold a valid one that it withheld.
	cookieNone cookieState = iota
	// cookieDuplicate: two or more cookies of the session's name. That is no session (not
	// first-wins: a cookie planted through a sibling host or a nameless-cookie trick can
	// come first), and it is never cleared: a clearing Set-Cookie could only reach our own
	// __Host- cookie, so it would log the victim out and leave the planted one in place.
	cookieDuplicate
	// cookieBad: one cookie that does not open (forged, tampered, expired, sealed by a
	// retired key, oversized) or that names no live session: it is cleared.
	cookieBad
	// cookieLive: one cookie that opens; whether its session lives is the store's to say.
	cookieLive
)

// sessionCookieValue is one request's session cookie, read once.
type sessionCookieValue struct {
	id    string
	hash  string // session.IDHash(id)
	stale bool   // sealed with an older key than the newest: re-issue it (key rotation)
	state cookieState
}

// readSessionID returns the session id sealed in the request's only session cookie, or ""
// when there is none, several, or one that does not open.
func (h *Handlers) readSessionID(r *http.Request) string {
	return h.readSessionCookie(r).id
}

// readSessionCookie reads and opens the request's session cookie.
func (h *Handlers) readSessionCookie(r *http.Request) sessionCookieValue {
	cs := r.CookiesNamed(h.cfg.CookieName)
	switch {
	case len(cs) == 0:
		return sessionCookieValue{state: cookieNone}
	case len(cs) > 1:
		return sessionCookieValue{state: cookieDuplicate}
	case len(cs[0].Value) > maxCookieValue:
		return sessionCookieValue{state: cookieBad}
	}
	d, err := h.sessionIDs.DecodeID(h.cfg.CookieName, cs[0].Value)
	if err != nil {
		return sessionCookieValue{state: cookieBad}
	}
	return sessionCookieValue{id: d.ID, hash: d.IDHash, stale: d.Stale, state: cookieLive}
}

// resealCookie re-issues cur's cookie with the newest key when it came sealed with an
// older one, for the rest of the session's life.
func (h *Handlers) resealCookie(set func(*http.Cookie), cur *current) {
	if !cur.staleCookie || set == nil {
		return
	}
	value, err := h.sessionCodec.Encode(h.cfg.CookieName, cur.id)
	if err != nil {
		return
	}
	set(h.sessionCookie(value, cur.rec.AbsoluteExpiry.Sub(h.d.Now())))
}
