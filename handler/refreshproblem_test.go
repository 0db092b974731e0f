package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/refresh"
	"github.com/tokenward/bff/session"
)

// TestRefreshErrorsBecomeOneProblemEach: each of refresh's domain errors is mapped to its
// problem+json once, where the response is written (here forward-auth's): an ended
// session is 401 session_expired, an IdP outage 503 idp_unavailable with the back-off as
// Retry-After, a refused client says the BFF is misconfigured, a store failure 503
// store_unavailable with Retry-After (1 s unless the refresher knows better); none of them leaks the token or the error text.
func TestRefreshErrorsBecomeOneProblemEach(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		typ        problem.Type
		retryAfter string
		detail     string
	}{
		{name: "session ended", err: &refresh.Error{Kind: refresh.ErrSessionEnded, Cause: errors.New("invalid_grant")},
			status: 401, typ: problem.SessionExpired},
		{name: "idp down, backing off", err: &refresh.Error{Kind: refresh.ErrIdPUnavailable, RetryAfter: 1500 * time.Millisecond},
			status: 503, typ: problem.IdPUnavailable, retryAfter: "2"},
		{name: "client refused", err: &refresh.Error{Kind: refresh.ErrIdPUnavailable, Cause: fmt.Errorf("token endpoint: %w", idp.ErrMisconfigured)},
			status: 503, typ: problem.IdPUnavailable, detail: "misconfigured"},
		{name: "store down", err: &refresh.Error{Kind: refresh.ErrStoreUnavailable, Cause: session.ErrUnavailable},
			status: 503, typ: problem.StoreUnavailable, retryAfter: "1"},
		{name: "another attempt's save pending", err: &refresh.Error{Kind: refresh.ErrStoreUnavailable, RetryAfter: 7 * time.Second},
			status: 503, typ: problem.StoreUnavailable, retryAfter: "7"},
		{name: "route token refused", err: &refresh.Error{Kind: refresh.ErrRouteTokenRefused, Cause: idp.ErrTargetRefused},
			status: 502, typ: problem.TokenRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, refresherFunc(func(context.Context, string, *session.Record, bool) (*session.Record, error) {
				return nil, tc.err
			}), nil)
			_, cookie := u.session(t, func(r *session.Record) { r.AccessToken = "secret-access-token" })
			w := u.serve(authRequest(cookie))
			var p struct{ Type, Detail string }
			body := w.Body.String()
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("not problem+json: %q", body)
			}
			if w.Code != tc.status || !strings.HasSuffix(p.Type, string(tc.typ)) || w.Header().Get("Retry-After") != tc.retryAfter ||
				!strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("got %d %s %q Retry-After %q, want %d %s %q Retry-After %q",
					w.Code, p.Type, p.Detail, w.Header().Get("Retry-After"), tc.status, tc.typ, tc.detail, tc.retryAfter)
			}
			if strings.Contains(body, "secret-access-token") || w.Header().Get("Authorization") != "" {
				t.Fatal("a refused refresh handed out the token")
			}
		})
	}
}

// TestForwardAuthSetsTheCredentialTheRefresherReturns: forward-auth's 200 carries the
// refreshed record's token (not the stored one) and its identity, and refuses a record
// of a type it cannot send as a bearer.
func TestForwardAuthSetsTheCredentialTheRefresherReturns(t *testing.T) {
	u := newUnit(t, refresherFunc(func(_ context.Context, _ string, rec *session.Record, force bool) (*session.Record, error) {
		if force {
			t.Error("forward-auth forced a refresh")
		}
		fresh := *rec
		fresh.AccessToken = "refreshed-token"
		return &fresh, nil
	}), nil)
	_, cookie := u.session(t, nil)
	w := u.serve(authRequest(cookie))
	if w.Code != http.StatusOK || w.Header().Get("Authorization") != "Bearer refreshed-token" ||
		w.Header().Get("X-Auth-Request-User") != "alice" {
		t.Fatalf("got %d Authorization %q user %q", w.Code, w.Header().Get("Authorization"), w.Header().Get("X-Auth-Request-User"))
	}
	_, dpop := u.session(t, func(r *session.Record) { r.TokenType = "DPoP" })
	if w := u.serve(authRequest(dpop)); w.Code != http.StatusServiceUnavailable || w.Header().Get("Authorization") != "" {
		t.Fatalf("a DPoP record: %d Authorization %q, want 503 and none", w.Code, w.Header().Get("Authorization"))
	}
}

// authRequest is the ingress's subrequest for a browser holding cookie.
func authRequest(cookie *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://app.example/bff/auth", nil)
	r.RemoteAddr = trustedPeer
	r.AddCookie(cookie)
	return r
}
