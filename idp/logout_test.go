package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func TestRevoke(t *testing.T) {
	tests := []struct {
		name      string
		noEndpt   bool
		handler   http.HandlerFunc
		wantErr   error
		wantCalls int
	}{
		{name: "revoked", wantCalls: 1},
		{name: "no revocation endpoint is a no-op", noEndpt: true, wantCalls: 0},
		{name: "503", wantErr: ErrUnavailable, wantCalls: 1,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }},
		{name: "unsupported_token_type", wantErr: ErrUnavailable, wantCalls: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_token_type",
					"error_description": "refresh-token-1 unknown"})
			}},
		{name: "2 MiB error body", wantErr: ErrUnavailable, wantCalls: 1, handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			bigBody(2<<20, false)(w, r)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			if tt.noEndpt {
				op.setMeta("revocation_endpoint", nil)
			}
			op.set(func(op *testOP) { op.revoke = tt.handler })
			p, logs := op.newProvider(nil)
			err := p.Revoke(context.Background(), "refresh-token-1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Revoke = %v, want %v", err, tt.wantErr)
			}
			if n := op.count("revoke"); n != tt.wantCalls {
				t.Fatalf("%d revocation requests, want %d", n, tt.wantCalls)
			}
			if err != nil {
				assertNoSecrets(t, err.Error(), AuthRequest{})
			}
			assertNoSecrets(t, logs.String(), AuthRequest{})
			if tt.wantCalls == 0 {
				return
			}
			op.mu.Lock()
			f := op.revReqs[0].Form
			op.mu.Unlock()
			if f.Get("token") != "refresh-token-1" || f.Get("token_type_hint") != "refresh_token" {
				t.Errorf("revocation form = %v", f)
			}
		})
	}
}

func TestEndSessionURL(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	raw, ok := p.EndSessionURL("id-token-hint-value", "logout-state")
	if !ok {
		t.Fatal("EndSessionURL reported no endpoint")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != op.issuer+"/logout" {
		t.Errorf("endpoint = %s", got)
	}
	want := url.Values{
		"tenant":                   {"a"}, // kept from the advertised endpoint
		"id_token_hint":            {"id-token-hint-value"},
		"post_logout_redirect_uri": {"https://app.example.com/"},
		"client_id":                {testClientID},
		"state":                    {"logout-state"},
	}
	if got := u.Query(); got.Encode() != want.Encode() {
		t.Errorf("query = %v, want %v", got, want)
	}

	raw, _ = p.EndSessionURL("", "")
	u, _ = url.Parse(raw)
	if q := u.Query(); q.Has("id_token_hint") || q.Has("state") {
		t.Errorf("empty hint and state must be left out: %v", q)
	}
}

func TestEndSessionURLWithoutEndpoint(t *testing.T) {
	op := newTestOP(t)
	op.setMeta("end_session_endpoint", nil)
	p, _ := op.newProvider(nil)
	if raw, ok := p.EndSessionURL("hint", "state"); ok || raw != "" {
		t.Errorf("EndSessionURL = %q, %v; want \"\", false", raw, ok)
	}
}
