package demoop

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestRevocation(t *testing.T) {
	tests := []struct {
		name            string
		token           func(tokens map[string]string) string
		hint            string
		basic           bool // client_secret_basic, else client_secret_post
		wantCounted     bool
		wantRefreshDead bool
	}{
		{name: "refresh token, basic", token: pick("refresh"), hint: "refresh_token", basic: true,
			wantCounted: true, wantRefreshDead: true},
		{name: "refresh token, post, no hint", token: pick("refresh"), basic: false,
			wantCounted: true, wantRefreshDead: true},
		{name: "access token", token: pick("access"), hint: "access_token", basic: true,
			wantCounted: true, wantRefreshDead: false},
		{name: "unknown token", token: func(map[string]string) string { return "not-a-token" }, basic: true,
			wantCounted: false, wantRefreshDead: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			cfg := e.bffConfig()
			tok := e.tokens(t, cfg)
			form := url.Values{"token": {tt.token(map[string]string{"refresh": tok.RefreshToken, "access": tok.AccessToken})}}
			if tt.hint != "" {
				form.Set("token_type_hint", tt.hint)
			}
			user, pass := testClientID, testClientSecret
			if !tt.basic {
				form.Set("client_id", testClientID)
				form.Set("client_secret", testClientSecret)
				user, pass = "", ""
			}
			resp := e.postForm(t, e.srv.Client(), "/revoke", form, user, pass)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("revoke status = %d, want 200", resp.StatusCode)
			}
			if got, want := e.op.Stats().Revocations, boolInt(tt.wantCounted); got != want {
				t.Errorf("Revocations = %d, want %d", got, want)
			}
			_, err := e.refresh(t, cfg, tok.RefreshToken)
			if dead := oauthErrorCode(err) == "invalid_grant"; dead != tt.wantRefreshDead {
				t.Errorf("refresh after revocation: err=%v, want dead=%v", err, tt.wantRefreshDead)
			}
		})
	}
}

func pick(key string) func(map[string]string) string {
	return func(m map[string]string) string { return m[key] }
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRevokeByAnotherClientRefused_CrossClientRevocation: a client cannot revoke another
// client's tokens.
func TestRevokeByAnotherClientRefused_CrossClientRevocation(t *testing.T) {
	e := newTestEnv(t)
	cfg := e.bffConfig()
	tok := e.tokens(t, cfg)
	resp := e.postForm(t, e.srv.Client(), "/revoke", url.Values{"token": {tok.RefreshToken}}, otherClientID, otherSecret)
	if resp.StatusCode == http.StatusOK {
		t.Fatal("another client revoked the token")
	}
	if _, err := e.refresh(t, cfg, tok.RefreshToken); err != nil {
		t.Errorf("token dead after a refused revocation: %v", err)
	}
}

func TestIntrospection(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.AccessTokenLifetime = 30 * time.Second })
	tok := e.tokens(t, e.bffConfig())
	tests := []struct {
		name       string
		user, pass string
		wantActive bool
	}{
		{name: "owner", user: testClientID, pass: testClientSecret, wantActive: true},
		{name: "other client", user: otherClientID, pass: otherSecret, wantActive: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.postForm(t, e.srv.Client(), "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, tt.user, tt.pass)
			var got struct {
				Active bool   `json:"active"`
				Sub    string `json:"sub"`
				Scope  string `json:"scope"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got.Active != tt.wantActive || (tt.wantActive && got.Sub != DefaultUsers()[0].Subject) {
				t.Errorf("introspection = %+v, want active=%v", got, tt.wantActive)
			}
		})
	}
}
