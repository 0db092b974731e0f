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

func (h *Handlers) clearSessionCookie(w http.ResponseWriter) {
	c := h.sessionCookie("", 0)
	c.MaxAge = -1
	http.SetCookie(w, c)
}

// readSessionID returns the session id sealed in the request's cookie, or "" when there is
// none or it does not open (tampered, expired, truncated, oversized: all mean "no session").
func (h *Handlers) readSessionID(r *http.Request) string {
	id, _ := h.readSessionCookie(r)
	return id
}

// readSessionCookie is readSessionID that also says whether the cookie was sealed with an
// older key than the newest (it should be re-issued: key rotation).
func (h *Handlers) readSessionCookie(r *http.Request) (id string, stale bool) {
	c, err := r.Cookie(h.cfg.CookieName)
	if err != nil || len(c.Value) > maxCookieValue {
		return "", false
	}
	stale, err = h.sessionCodec.DecodeStale(h.cfg.CookieName, c.Value, &id)
	if err != nil {
		return "", false
	}
	return id, stale
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
