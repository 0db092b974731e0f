package compose_test

import (
	"slices"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/deploy/check/compose"
)

func readRealm(t *testing.T) compose.Realm {
	t.Helper()
	r, err := compose.ParseRealm(readFile(t, compose.RealmFile))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// realmCase is what one realm test sees: the realm, the BFF's client in it, and the
// interpolated environments of the bff and keycloak services.
type realmCase struct {
	realm  compose.Realm
	client compose.Client
	bff    map[string]string
	kc     map[string]string
}

func newRealmCase(t *testing.T) realmCase {
	t.Helper()
	p := load(t, testEnv(t))
	rc := realmCase{realm: readRealm(t), bff: envOf(service(t, p, "bff")), kc: envOf(service(t, p, "keycloak"))}
	var found []compose.Client
	for _, c := range rc.realm.Clients {
		if c.ClientID == rc.bff["BFF_OIDC_CLIENT_ID"] {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("realm has %d clients with clientId %q (BFF_OIDC_CLIENT_ID), want 1", len(found), rc.bff["BFF_OIDC_CLIENT_ID"])
	}
	rc.client = found[0]
	return rc
}

func TestParseRealmRefusesUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{name: "misspelt realm setting", json: `{"realm": "r", "revokeRefreshTokens": true}`},
		{name: "misspelt client setting", json: `{"realm": "r", "clients": [{"clientId": "c", "redirectUri": ["x"]}]}`},
		{name: "two objects", json: `{"realm": "r"} {"realm": "s"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := compose.ParseRealm([]byte(tt.json)); err == nil {
				t.Fatal("ParseRealm accepted it")
			}
		})
	}
}

func TestRealmPlaceholdersResolve(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		env    map[string]string
		want   string
		wantOK bool
	}{
		{name: "set", in: "${A}", env: map[string]string{"A": "x"}, want: "x", wantOK: true},
		{name: "with a default, set", in: "a-${A:d}-b", env: map[string]string{"A": "x"}, want: "a-x-b", wantOK: true},
		{name: "unset", in: "${A}", env: map[string]string{}, want: "", wantOK: false},
		{name: "no placeholder", in: "plain", env: nil, want: "plain", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := compose.Resolve(tt.in, tt.env)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("Resolve(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// Keycloak imports an unset ${X} literally: every placeholder must be set in the
// keycloak service's environment.
func TestRealmPlaceholdersAreAllSetForKeycloak(t *testing.T) {
	rc := newRealmCase(t)
	names := compose.Placeholders(readFile(t, compose.RealmFile))
	if len(names) == 0 {
		t.Fatal("realm.json has no placeholder: its secrets would be written in it")
	}
	for _, name := range names {
		if _, ok := rc.kc[name]; !ok {
			t.Errorf("realm.json uses ${%s}, which the keycloak service does not set", name)
		}
	}
}

// The client secret Keycloak imports and the one the BFF sends come from the same .env
// variable: the test gives it a random value and finds that value on both sides.
func TestRealmClientSecretIsTheBFFsSecret(t *testing.T) {
	rc := newRealmCase(t)
	if len(compose.Placeholders([]byte(rc.client.Secret))) != 1 {
		t.Fatalf("the client secret is not a single ${…} placeholder: it would be committed in realm.json")
	}
	secret, ok := compose.Resolve(rc.client.Secret, rc.kc)
	if !ok || secret == "" || secret != rc.bff["BFF_OIDC_CLIENT_SECRET"] {
		t.Fatal("the realm's client secret does not resolve to the BFF's BFF_OIDC_CLIENT_SECRET")
	}
}

func TestRealmClientIsConfidentialWithTheStandardFlowOnly(t *testing.T) {
	c := newRealmCase(t).client
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "enabled", got: c.Enabled, want: true},
		{name: "protocol", got: c.Protocol, want: "openid-connect"},
		{name: "publicClient", got: c.PublicClient, want: false},
		{name: "clientAuthenticatorType", got: c.ClientAuthenticatorType, want: "client-secret"},
		{name: "standardFlowEnabled", got: c.StandardFlowEnabled, want: true},
		{name: "implicitFlowEnabled", got: c.ImplicitFlowEnabled, want: false},
		{name: "directAccessGrantsEnabled", got: c.DirectAccessGrantsEnabled, want: false},
		{name: "serviceAccountsEnabled", got: c.ServiceAccountsEnabled, want: false},
		{name: "device grant", got: c.Attributes["oauth2.device.authorization.grant.enabled"], want: "false"},
		{name: "CIBA grant", got: c.Attributes["oidc.ciba.grant.enabled"], want: "false"},
		{name: "PKCE", got: c.Attributes["pkce.code.challenge.method"], want: "S256"},
		{name: "front-channel logout", got: c.FrontchannelLogout, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("%s = %v, want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

// A wildcard or extra redirect URI lets an attacker's page receive an authorization
// code; the BFF's callback must be the only one.
func TestRealmRedirectURIsAreExactlyTheBFFCallback(t *testing.T) {
	rc := newRealmCase(t)
	cfg := bffConfig(t, rc.bff)
	if want := []string{cfg.RedirectURL()}; !slices.Equal(rc.client.RedirectURIs, want) {
		t.Fatalf("redirectUris = %v, want exactly %v", rc.client.RedirectURIs, want)
	}
	if got, want := rc.client.Attributes["post.logout.redirect.uris"], cfg.PostLogoutURL(); got != want {
		t.Fatalf("post.logout.redirect.uris = %q, want exactly %q", got, want)
	}
}

// The browser never calls Keycloak from script (the BFF does, server to server): no
// web origin may be allowed CORS access to the token endpoint.
func TestRealmAllowsNoBrowserOrigin(t *testing.T) {
	if origins := newRealmCase(t).client.WebOrigins; len(origins) != 0 {
		t.Fatalf("webOrigins = %v, want none", origins)
	}
}

func TestRealmSendsBackChannelLogoutToTheBFF(t *testing.T) {
	rc := newRealmCase(t)
	cfg := bffConfig(t, rc.bff)
	if got, want := rc.client.Attributes["backchannel.logout.url"], cfg.Server.PublicURL+"/bff/backchannel-logout"; got != want {
		t.Errorf("backchannel.logout.url = %q, want %q", got, want)
	}
	if got := rc.client.Attributes["backchannel.logout.session.required"]; got != "true" {
		t.Errorf("backchannel.logout.session.required = %q, want true (the BFF ends sessions by sid)", got)
	}
}

// With rotation, a stolen refresh token works once at most; replaying it revokes the
// family. The BFF refreshes each session exactly once, so it never trips this itself.
func TestRealmRotatesRefreshTokens(t *testing.T) {
	r := newRealmCase(t).realm
	if !r.RevokeRefreshToken {
		t.Error("revokeRefreshToken is off")
	}
	if r.RefreshTokenMaxReuse == nil || *r.RefreshTokenMaxReuse != 0 {
		t.Errorf("refreshTokenMaxReuse = %v, want 0", r.RefreshTokenMaxReuse)
	}
	if r.AccessTokenLifespan <= 0 || r.AccessTokenLifespan > 300 {
		t.Errorf("accessTokenLifespan = %d s, want a short one (the demo shows refreshes)", r.AccessTokenLifespan)
	}
}

func TestRealmDemoUserCanLogIn(t *testing.T) {
	rc := newRealmCase(t)
	i := slices.IndexFunc(rc.realm.Users, func(u compose.User) bool { return u.Username == "alice" })
	if i < 0 {
		t.Fatal("no demo user alice")
	}
	u := rc.realm.Users[i]
	if !u.Enabled || !u.EmailVerified || u.Email == "" || u.FirstName == "" || u.LastName == "" {
		t.Errorf("alice = %+v: an incomplete profile makes Keycloak ask for it at the first login", u)
	}
	if len(u.Credentials) != 1 || u.Credentials[0].Type != "password" || u.Credentials[0].Temporary {
		t.Fatalf("alice's credentials: want one permanent password")
	}
	pw, ok := compose.Resolve(u.Credentials[0].Value, rc.kc)
	if !ok || pw == "" {
		t.Fatal("alice's password is not a placeholder set from .env")
	}
}

func bffConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(config.Source{Env: envList(env)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
