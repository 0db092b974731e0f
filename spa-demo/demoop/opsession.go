package demoop

import (
	"crypto/rand"
	"net/http"
	"time"
)

// sessionCookieName holds the OP's browser session (single sign-on): a random value
// whose SHA-256 keys the session in storage.
const sessionCookieName = "demoop_session"

// opSession is a user's authentication at the OP. Its sid goes into every ID token,
// access token and logout token issued under it.
type opSession struct {
	sid      string
	subject  string
	authTime time.Time
	expires  time.Time
}

// newSession starts an OP session for subject and returns the cookie value.
func (s *storage) newSession(subject string) (string, opSession) {
	now := s.now()
	raw := rand.Text() + rand.Text()
	sess := opSession{sid: rand.Text(), subject: subject, authTime: now, expires: now.Add(s.refreshTT)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collectLocked(now)
	s.sessions[hashSecret(raw)] = &sess
	return raw, sess
}

// sessionByCookie returns the live OP session of a cookie value.
func (s *storage) sessionByCookie(raw string) (opSession, bool) {
	if raw == "" {
		return opSession{}, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[hashSecret(raw)]
	if !ok || now.After(sess.expires) {
		return opSession{}, false
	}
	return *sess, true
}

// endSessionByCookie ends the OP session of a cookie value and revokes its grants.
func (s *storage) endSessionByCookie(raw string) {
	if raw == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[hashSecret(raw)]; ok {
		s.endSIDLocked(sess.sid)
	}
}

// sessionCookie returns the cookie value of the request, or "".
func sessionCookie(r *http.Request) string {
	c, err := r.Cookie(sessionCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

func (o *OP) setSessionCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(o.cfg.RefreshTokenLifetime / time.Second),
		HttpOnly: true,
		Secure:   o.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (o *OP) clearSessionCookie(h http.Header) {
	c := &http.Cookie{
		Name: sessionCookieName, Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: o.secure, SameSite: http.SameSiteLaxMode,
	}
	h.Add("Set-Cookie", c.String())
}
