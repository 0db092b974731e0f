package bff_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// TestIdPDownAtStart: the BFF starts without its IdP, is not ready and answers logins
// with a 503 page, and becomes ready by itself once the IdP comes up.
func TestIdPDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	l.Close() // nothing listens there yet

	cfg := config.Defaults()
	cfg.Server.PublicURL = "https://localhost:8443"
	cfg.OIDC.Issuer, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = issuer, "bff", "a-client-secret-long-enough"
	cfg.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	srv, err := bff.New(context.Background(), cfg, bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("New with the IdP down: %v", err)
	}
	defer srv.Close()
	pub, admin := httptest.NewServer(srv.Handler()), httptest.NewServer(srv.AdminHandler())
	defer pub.Close()
	defer admin.Close()

	if r, _ := http.Get(admin.URL + "/readyz"); r == nil || r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the IdP down: %v", r)
	}
	c := &http.Client{CheckRedirect: testenv.NoRedirect}
	r, err := c.Get(pub.URL + "/bff/login")
	if err != nil {
		t.Fatal(err)
	}
	body := testenv.ReadAll(t, r)
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login with the IdP down: %d %s", r.StatusCode, body)
	}

	// The IdP comes up on its address: discovery's backoff retries find it.
	l, err = net.Listen("tcp", strings.TrimPrefix(issuer, "http://"))
	if err != nil {
		t.Skipf("could not take the issuer's port back: %v", err)
	}
	op, err := demoop.New(demoop.Config{Issuer: issuer, Clients: []demoop.Client{{
		ID: "bff", Secret: "a-client-secret-long-enough", RedirectURIs: []string{"https://localhost:8443/bff/callback"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ops := httptest.NewUnstartedServer(op.Handler())
	ops.Listener.Close()
	ops.Listener = l
	ops.Start()
	defer ops.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if r, err := http.Get(admin.URL + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never became ready after the IdP came up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r, err := c.Get(pub.URL + "/bff/login"); err != nil || r.StatusCode != http.StatusFound {
		t.Fatalf("login after the IdP came up: %v %v", r, err)
	}
}
