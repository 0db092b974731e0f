package handler

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// The login-in-progress cookie. It holds only opaque random handles, one per pending login
// of this browser, newest last; what a login needs (state, nonce, PKCE verifier, returnTo)
// is in the store under the login's state, bound to its handle (see pendingLogin).
//
// Why __Host- (Secure, Path=/, no Domain): a host on a sibling subdomain can set a
// __Secure- cookie, or one with a narrower Path, for the parent domain, and so toss its own
// pending login into a victim's browser (login CSRF: the victim ends up in the attacker's
// account). Browsers refuse a __Host- cookie that names a Domain, so only this host can set
// it. SameSite=Lax, because the IdP's redirect back is a cross-site navigation that a Strict
// cookie would not follow. Because returnTo is in the store, the cookie stays small however
// long the return paths are: at most MaxPendingLogins handles of 43 characters.
const (
	loginCookie = "__Host-bff-login"
	// loginHandleLen is the length of a handle: session.NewID, 256 bits in base64url.
	loginHandleLen = 43
	loginHandleSep = "."
)

// readLoginHandles returns the well-formed handles of the request's login cookie, at most
// MaxPendingLogins of them (the newest). Two cookies of that name, which this host never
// sets, mean none: the callback then refuses every login.
func (h *Handlers) readLoginHandles(r *http.Request) []string {
	var value string
	seen := 0
	for _, c := range r.Cookies() {
		if c.Name == loginCookie {
			value = c.Value
			seen++
		}
	}
	if seen != 1 || len(value) > maxCookieValue {
		return nil
	}
	var handles []string
	for _, v := range strings.Split(value, loginHandleSep) {
		if validHandle(v) {
			handles = append(handles, v)
		}
	}
	return newest(handles, h.cfg.MaxPendingLogins)
}

// validHandle: exactly loginHandleLen base64url characters.
func validHandle(v string) bool {
	if len(v) != loginHandleLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// newest keeps the last n handles: the oldest pending logins are dropped first.
func newest(handles []string, n int) []string {
	if len(handles) > n {
		return handles[len(handles)-n:]
	}
	return handles
}

// setLoginHandles writes the login cookie with handles, or clears it when there are none.
func (h *Handlers) setLoginHandles(w http.ResponseWriter, handles []string) {
	c := &http.Cookie{
		Name: loginCookie, Value: strings.Join(handles, loginHandleSep), Path: "/",
		MaxAge: int(h.cfg.LoginTimeout / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if len(handles) == 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// withoutHandle returns handles less want, and whether want was there. Every handle is
// compared in constant time, and all of them are, so the time taken says nothing about
// which one (if any) matched.
func withoutHandle(handles []string, want string) ([]string, bool) {
	rest := make([]string, 0, len(handles))
	found := 0
	for _, v := range handles {
		eq := subtle.ConstantTimeCompare([]byte(v), []byte(want))
		found |= eq
		if eq == 0 {
			rest = append(rest, v)
		}
	}
	return rest, found == 1
}
