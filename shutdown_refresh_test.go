package bff_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/faults"
	"github.com/tokenward/bff/internal/testenv"
)

// TestShutdownDrainsRefreshesBehindRequests: a request whose token is still valid (inside
// the skew) is answered at once while its refresh runs behind it at a slow provider; a
// SIGTERM then must not end Serve before that refresh got the provider's answer and saved
// it (else a killed process would lose a rotated refresh token).
func TestShutdownDrainsRefreshesBehindRequests(t *testing.T) {
	var endpoint *faults.Endpoint
	o := testenv.Options{AccessTokenLifetime: 5 * time.Second, WrapOP: func(h http.Handler) http.Handler {
		endpoint = faults.NewEndpoint(h, "/oauth/token")
		return endpoint
	}}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	cfg := e.Config
	cfg.Server.ShutdownTimeout = 10 * time.Second
	pub, _, sigterm, served := serveReady(t, cfg)

	// 5 s tokens (expires_in 4): due 2 s after the login (half their life), valid ~2 s more.
	e.Login(t, nil, "alice", "/")
	time.Sleep(2100 * time.Millisecond)
	endpoint.DelayBefore(1500 * time.Millisecond)
	login := endpoint.Answered() // the login's code exchange
	req, _ := http.NewRequest(http.MethodGet, pub+"/api/x", nil)
	req.Header.Set("X-CSRF", "1")
	base, err := url.Parse(e.Server.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range e.Client.Jar.Cookies(base) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || endpoint.Answered() != login {
		t.Fatalf("got %d with %d refresh answers: want 200 at once, the refresh behind it", resp.StatusCode, endpoint.Answered()-login)
	}
	sigterm()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
	if got := e.OP.Stats().RefreshGrants; got != 1 || endpoint.Answered() != login+1 {
		t.Fatalf("Serve returned with %d refresh grants: the refresh behind the request was not drained", got)
	}
}
