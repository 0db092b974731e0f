package demoop

import (
	"net/http"
	"net/url"
	"testing"
)

func TestSetTokenEndpointStatusSimulatesAnOutage(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		wantCode string
	}{
		{name: "503", status: http.StatusServiceUnavailable, wantCode: "temporarily_unavailable"},
		{name: "502", status: http.StatusBadGateway, wantCode: "temporarily_unavailable"},
		{name: "429", status: http.StatusTooManyRequests, wantCode: "temporarily_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			cfg := e.bffConfig()
			tok := e.tokens(t, cfg)
			e.op.SetTokenEndpointStatus(tt.status)
			_, err := e.refresh(t, cfg, tok.RefreshToken)
			if retrieveStatus(err) != tt.status || oauthErrorCode(err) != tt.wantCode {
				t.Fatalf("refresh during outage: %v, want %d %s", err, tt.status, tt.wantCode)
			}
			e.op.SetTokenEndpointStatus(0)
			// The outage consumed nothing: the same refresh token still works once.
			if _, err := e.refresh(t, cfg, tok.RefreshToken); err != nil {
				t.Fatalf("refresh after the outage: %v", err)
			}
			if s := e.op.Stats(); s.RefreshGrants != 1 || s.RefreshReuseDetected != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// TestTokenResponsesAreNotCacheable: RFC 6749 section 5.1 no-store, which the library
// does not set, on success and on error.
func TestTokenResponsesAreNotCacheable(t *testing.T) {
	e := newTestEnv(t)
	resp := e.postForm(t, e.srv.Client(), "/oauth/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {"nope"}}, testClientID, testClientSecret)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestSetTokenEndpointStatusRejectsNonErrorStatus(t *testing.T) {
	e := newTestEnv(t)
	defer func() {
		if recover() == nil {
			t.Error("SetTokenEndpointStatus(200) did not panic")
		}
	}()
	e.op.SetTokenEndpointStatus(http.StatusOK)
}
