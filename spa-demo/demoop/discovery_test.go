package demoop

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

func TestDiscoveryAdvertisesWhatTheBFFNeeds(t *testing.T) {
	e := newTestEnv(t)
	resp := e.get(t, e.srv.Client(), e.issuer+"/.well-known/openid-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		field string
		want  any
	}{
		{name: "issuer", field: "issuer", want: e.issuer},
		{name: "authorize", field: "authorization_endpoint", want: e.issuer + "/authorize"},
		{name: "token", field: "token_endpoint", want: e.issuer + "/oauth/token"},
		{name: "end session", field: "end_session_endpoint", want: e.issuer + "/end_session"},
		{name: "revocation", field: "revocation_endpoint", want: e.issuer + "/revoke"},
		{name: "jwks", field: "jwks_uri", want: e.issuer + "/keys"},
		{name: "userinfo", field: "userinfo_endpoint", want: e.issuer + "/userinfo"},
		{name: "introspection", field: "introspection_endpoint", want: e.issuer + "/oauth/introspect"},
		{name: "back-channel logout", field: "backchannel_logout_supported", want: true},
		{name: "back-channel logout sid", field: "backchannel_logout_session_supported", want: true},
		{name: "RFC 9207 iss", field: "authorization_response_iss_parameter_supported", want: true},
		{name: "no device flow", field: "device_authorization_endpoint", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := doc[tt.field]; got != tt.want {
				t.Errorf("%s = %v, want %v", tt.field, got, tt.want)
			}
		})
	}
	lists := []struct {
		name  string
		field string
		want  []string
	}{
		{name: "PKCE", field: "code_challenge_methods_supported", want: []string{"S256"}},
		{name: "client auth", field: "token_endpoint_auth_methods_supported", want: []string{"client_secret_basic", "client_secret_post", "private_key_jwt"}},
		{name: "grants", field: "grant_types_supported", want: []string{"authorization_code", "refresh_token"}},
		{name: "response types", field: "response_types_supported", want: []string{"code"}},
		{name: "scopes", field: "scopes_supported", want: []string{"openid", "profile", "email", "offline_access"}},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := doc[tt.field].([]any)
			var got []string
			for _, v := range raw {
				s, _ := v.(string)
				got = append(got, s)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s = %v, want %v", tt.field, got, tt.want)
			}
		})
	}
}

func TestDiscoveryIsAcceptedByGoOIDC(t *testing.T) {
	e := newTestEnv(t)
	p, err := gooidc.NewProvider(e.ctx(t), e.issuer)
	if err != nil {
		t.Fatalf("go-oidc NewProvider: %v", err)
	}
	if p.Endpoint().TokenURL != e.issuer+"/oauth/token" {
		t.Errorf("token URL = %q", p.Endpoint().TokenURL)
	}
}

// TestNewAndFirstDiscoveryTakeUnderTwoSeconds guards the `bff demo` start-up budget: key
// generation plus the first discovery round trip.
func TestNewAndFirstDiscoveryTakeUnderTwoSeconds(t *testing.T) {
	start := time.Now()
	srv := httptest.NewUnstartedServer(nil)
	o, err := New(Config{
		Issuer:  "http://" + srv.Listener.Addr().String(),
		Clients: []Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:9/cb"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	built := time.Since(start)
	srv.Config.Handler = o.Handler()
	srv.Start()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	total := time.Since(start)
	t.Logf("New: %v, New + first discovery: %v", built, total)
	if resp.StatusCode != http.StatusOK || total > 2*time.Second {
		t.Fatalf("status %d after %v, want 200 within 2s", resp.StatusCode, total)
	}
}
