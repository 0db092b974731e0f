package handler

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenward/bff/idp"
)

// Login-in-progress cookies (DESIGN.md "Sessions"): one sealed cookie per attempt, in one of
// MaxPendingLogins slots, Path=/bff/callback so that no other request carries it, SameSite=Lax
// because the IdP's redirect back is a cross-site navigation. The slot counter lives in a tiny
// cookie visible only to /bff/login; a new attempt takes the next slot round-robin, so the
// number of login cookies can never grow past the cap (no 431s), and several tabs can log in
// at once.
const (
	loginCookiePrefix = "__Secure-bff-login-"
	loginNextCookie   = "__Secure-bff-login-next"
	// maxCookieValue bounds what we try to decode (securecookie's own limit is 4096).
	maxCookieValue = 4096
)

// OwnsCookie reports whether name is one of the BFF's own cookies, which no upstream may set.
func OwnsCookie(sessionCookie string) func(name string) bool {
	return func(name string) bool {
		return name == sessionCookie || strings.HasPrefix(name, loginCookiePrefix)
	}
}

// loginState is sealed into a login cookie.
type loginState struct {
	AR       idp.AuthRequest `json:"ar"`
	ReturnTo string          `json:"rt"`
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

func loginCookieName(slot int) string { return loginCookiePrefix + strconv.Itoa(slot) }

// nextLoginSlot reads the round-robin counter; anything odd restarts it at 0.
func (h *Handlers) nextLoginSlot(r *http.Request) int {
	c, err := r.Cookie(loginNextCookie)
	if err != nil || len(c.Value) > 3 {
		return 0
	}
	n, err := strconv.Atoi(c.Value)
	if err != nil || n < 0 || n >= h.cfg.MaxPendingLogins {
		return 0
	}
	return n
}

func (h *Handlers) setLoginCookie(w http.ResponseWriter, slot int, value string) {
	maxAge := int(h.cfg.LoginTimeout / time.Second)
	http.SetCookie(w, &http.Cookie{
		Name: loginCookieName(slot), Value: value, Path: pathCallback,
		MaxAge: maxAge, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: loginNextCookie, Value: strconv.Itoa((slot + 1) % h.cfg.MaxPendingLogins), Path: pathLogin,
		MaxAge: maxAge, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearLoginCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Path: pathCallback, MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}
