package handler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// TestBackchannelCountsEachOutcome: every answer of the back-channel endpoint is counted
// under its own outcome (ok, invalid, replay, error), the sessions it ends under
// "backchannel", and the ended ids are handed to OnEnd so that their streams are cut.
func TestBackchannelCountsEachOutcome(t *testing.T) {
	u := newUnit(t, asIs, nil)
	id, _ := u.session(t, nil)
	u.idp.verify = func(raw string) (*idp.LogoutToken, error) {
		switch raw {
		case "idp-down":
			return nil, idp.ErrUnavailable
		case "valid":
			return &idp.LogoutToken{SID: "op-sid", JTI: "jti-1", Expiry: time.Now().Add(time.Minute)}, nil
		}
		return nil, idp.ErrInvalidToken
	}
	tests := []struct {
		token   string
		status  int
		outcome string
	}{
		{"forged", http.StatusBadRequest, BackchannelInvalid},
		{"idp-down", http.StatusServiceUnavailable, BackchannelError},
		{"valid", http.StatusOK, BackchannelOK},
		{"valid", http.StatusBadRequest, BackchannelReplay},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, "https://app.example/bff/backchannel-logout",
			strings.NewReader(url.Values{"logout_token": {tc.token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		before := u.rec.count("backchannel:" + tc.outcome)
		if w := u.serve(r); w.Code != tc.status || u.rec.count("backchannel:"+tc.outcome) != before+1 {
			t.Fatalf("%s: %d, %s counted %d times, want %d and once more", tc.token, w.Code, tc.outcome,
				u.rec.count("backchannel:"+tc.outcome)-before, tc.status)
		}
	}
	if _, err := u.store.Get(context.Background(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session of the logout token's sid survived: %v", err)
	}
	if u.rec.count("ended:backchannel") != 1 || len(u.ended) != 1 || len(u.ended[0]) != 1 || u.ended[0][0] != session.IDHash(id) {
		t.Fatalf("ended %d, OnEnd %v, want one session and its id hash", u.rec.count("ended:backchannel"), u.ended)
	}
}

// TestReadyzSaysWhyTheIdPIsNotReady: /readyz is 200 only with the store and discovery up
// and not draining, and says "misconfigured: <reason>" for a wrong issuer rather than
// "discovery pending", so that nobody waits for an IdP that will never match.
func TestReadyzSaysWhyTheIdPIsNotReady(t *testing.T) {
	tests := []struct {
		name     string
		ready    error
		draining bool
		status   int
		body     string
	}{
		{name: "ready", status: 200, body: `"ready":true`},
		{name: "discovery pending", ready: idp.ErrNotReady, status: 503, body: `"idp":"discovery pending"`},
		{name: "wrong issuer", ready: errors.Join(idp.ErrMisconfigured, errors.New("oidc.issuer names another issuer")),
			status: 503, body: `misconfigured: `},
		{name: "draining", draining: true, status: 503, body: `"ready":false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, asIs, nil)
			u.idp.ready = tc.ready
			w := httptest.NewRecorder()
			u.h.Ready(func() bool { return tc.draining })(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("got %d %s, want %d with %s", w.Code, w.Body.String(), tc.status, tc.body)
			}
		})
	}
}

// TestLoginIsCountedAndRefusedWhileTheIdPIsNotReady: a login redirects to the provider's
// authorization URL and counts "started"; before discovery it is refused with a page and
// counts nothing.
func TestLoginIsCountedAndRefusedWhileTheIdPIsNotReady(t *testing.T) {
	u := newUnit(t, asIs, nil)
	w := u.serve(httptest.NewRequest(http.MethodGet, "https://app.example/bff/login?returnTo=/deep", nil))
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "https://idp.example/authorize?state=") ||
		u.rec.count("login:"+LoginStarted) != 1 {
		t.Fatalf("login: %d to %q, started counted %d", w.Code, w.Header().Get("Location"), u.rec.count("login:"+LoginStarted))
	}
	u.idp.ready = idp.ErrNotReady
	w = u.serve(httptest.NewRequest(http.MethodGet, "https://app.example/bff/login", nil))
	if w.Code != http.StatusServiceUnavailable || u.rec.count("login:"+LoginStarted) != 1 {
		t.Fatalf("login before discovery: %d, started counted %d, want 503 and no count", w.Code, u.rec.count("login:"+LoginStarted))
	}
}
