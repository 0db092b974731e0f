package demoop

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
)

// TestLoginHeadlessStartsAtTheRP starts at an RP's login endpoint that sets a cookie and
// redirects to the OP, with a client that would follow redirects itself.
func TestLoginHeadlessStartsAtTheRP(t *testing.T) {
	var e *testEnv
	var authURL string
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "login-attempt", Value: "1", Path: "/"})
		http.Redirect(w, r, authURL, http.StatusFound)
	}))
	defer rp.Close()
	e = newTestEnv(t)
	a := newAttempt(e.bffConfig())
	authURL = a.url
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar} // follows redirects: LoginHeadless must not let it
	cb, err := LoginHeadless(t.Context(), c, rp.URL+"/bff/login?returnTo=/", "alice", "wonderland")
	if err != nil {
		t.Fatalf("LoginHeadless: %v", err)
	}
	if cb.Query().Get("state") != a.state || cb.Query().Get("code") == "" {
		t.Errorf("callback = %s", cb.Redacted())
	}
	rpURL, err := url.Parse(rp.URL + "/bff/callback")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(jar.Cookies(rpURL), func(c *http.Cookie) bool { return c.Name == "login-attempt" }) {
		t.Error("the RP's cookie was not kept in the jar")
	}
}

func TestLoginHeadlessErrors(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name    string
		authURL string
		wantErr error
	}{
		{name: "unknown client is a 400 from the OP", authURL: e.issuer + "/authorize?client_id=nope&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid",
			wantErr: ErrUnexpectedResponse},
		{name: "page without a login form", authURL: e.issuer + "/logged-out", wantErr: ErrNoLoginForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoginHeadless(t.Context(), e.srv.Client(), tt.authURL, "alice", "wonderland")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
