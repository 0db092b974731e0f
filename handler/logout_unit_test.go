package handler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenward/bff/session"
)

// TestLogoutRevokesEndsAndCounts: POST /bff/logout revokes the refresh token at the
// provider, deletes the session, hands its id hash to OnEnd (its streams are cut),
// counts it under "logout", clears the cookie and answers the provider's end-session URL.
// Without the CSRF header it changes nothing.
func TestLogoutRevokesEndsAndCounts(t *testing.T) {
	u := newUnit(t, asIs, nil)
	id, cookie := u.session(t, func(r *session.Record) { r.RefreshToken = "rt-to-revoke" })
	post := func(csrfHeader bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "https://app.example/bff/logout", nil)
		r.AddCookie(cookie)
		if csrfHeader {
			r.Header.Set("X-CSRF", "1")
		}
		return u.serve(r)
	}
	if w := post(false); w.Code != http.StatusForbidden || len(u.idp.revoked) != 0 {
		t.Fatalf("without the CSRF header: %d, revoked %v", w.Code, u.idp.revoked)
	}
	w := post(true)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "https://idp.example/logout") {
		t.Fatalf("logout: %d %s", w.Code, w.Body.String())
	}
	if len(u.idp.revoked) != 1 || u.idp.revoked[0] != "rt-to-revoke" {
		t.Fatalf("revoked %v, want the session's refresh token", u.idp.revoked)
	}
	if _, err := u.store.Get(context.Background(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session survived logout: %v", err)
	}
	if u.rec.count("ended:logout") != 1 || len(u.ended) != 1 || u.ended[0][0] != session.IDHash(id) {
		t.Fatalf("ended counted %d, OnEnd %v", u.rec.count("ended:logout"), u.ended)
	}
	cleared := false
	for _, c := range w.Result().Cookies() {
		cleared = cleared || c.Name == "__Host-bff" && c.MaxAge < 0
	}
	if !cleared {
		t.Fatal("logout did not clear the session cookie")
	}
}
