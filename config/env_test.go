package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleEnvValue returns a raw env value for l and the value Load must produce from it,
// chosen to differ from the default so a key that is not read from env is caught.
func sampleEnvValue(t *testing.T, l leaf) (raw string, want any) {
	t.Helper()
	switch {
	case l.Path == routesPath:
		raw = `[{path: /api/, upstream: "http://127.0.0.1:9000", auth: none}]`
		return raw, []Route{Route{Path: "/api/", Upstream: "http://127.0.0.1:9000", Auth: "none"}.WithDefaults()}
	case l.Path == providersPath:
		raw = `[{name: a, issuer: "https://a.example"}]`
		return raw, []Provider{{Name: "a", Issuer: "https://a.example"}}
	case l.Path == "server.adminTokenFile":
		// The admin token must be long enough for Load to accept it.
		return writeFile(t, "secret", strings.Repeat("t", MinAdminTokenBytes)+"\n"), nil
	case strings.HasSuffix(l.Path, "File"):
		// A secret file key: Load reads the file, so give it a real one.
		return writeFile(t, "secret", "from-file\n"), nil
	case l.Type == durationType:
		return "42s", 42 * time.Second
	case l.Type.Kind() == reflect.String:
		return "value-of-" + l.Path, "value-of-" + l.Path
	case l.Type.Kind() == reflect.Bool:
		return "true", true
	case l.Type.Kind() == reflect.Int:
		return "7", 7
	case l.Type.Kind() == reflect.Slice && l.Type.Elem().Kind() == reflect.String:
		return " a, b ,,c", []string{"a", "b", "c"}
	}
	t.Fatalf("no sample value for %s of type %s", l.Path, l.Type)
	return "", nil
}

// TestEveryKeyIsSettableFromEnv reflects over Config: a key added to the struct is
// covered without touching this test.
func TestEveryKeyIsSettableFromEnv(t *testing.T) {
	for _, l := range leaves() {
		t.Run(l.Path, func(t *testing.T) {
			raw, want := sampleEnvValue(t, l)
			c, err := Load(Source{Env: []string{"HOME=/root", l.Env + "=" + raw}})
			if err != nil {
				t.Fatalf("Load with %s: %v", l.Env, err)
			}
			got := reflect.ValueOf(c).FieldByIndex(l.Index).Interface()
			if want == nil { // a …File key: the path is kept and the secret read
				want = raw
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s=%q gave %s = %#v, want %#v", l.Env, raw, l.Path, got, want)
			}
			def := reflect.ValueOf(Defaults()).FieldByIndex(l.Index).Interface()
			if reflect.DeepEqual(got, def) {
				t.Errorf("sample value of %s equals its default: the test proves nothing", l.Path)
			}
		})
	}
}

func TestEnvOverlay(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		check       func(c Config) bool
		wantProblem string // path of the expected problem, "" for none
		wantInMsg   string
	}{
		{
			name:  "list is comma separated and trimmed",
			env:   []string{"BFF_OIDC_SCOPES=openid , profile"},
			check: func(c Config) bool { return reflect.DeepEqual(c.OIDC.Scopes, []string{"openid", "profile"}) },
		},
		{
			name:  "empty variable counts as unset",
			env:   []string{"BFF_SERVER_LISTEN="},
			check: func(c Config) bool { return c.Server.Listen == ":8080" },
		},
		{
			name:  "last occurrence wins",
			env:   []string{"BFF_LOG_LEVEL=debug", "BFF_LOG_LEVEL=warn"},
			check: func(c Config) bool { return c.Log.Level == "warn" },
		},
		{
			name:  "value may contain =",
			env:   []string{"BFF_OIDC_CLIENT_ID=a=b"},
			check: func(c Config) bool { return c.OIDC.ClientID == "a=b" },
		},
		{
			name:  "kubernetes service variables are ignored",
			env:   []string{"BFF_SERVICE_HOST=10.0.0.1", "BFF_PORT=tcp://10.0.0.1:8080"},
			check: func(c Config) bool { return reflect.DeepEqual(c, Defaults()) },
		},
		{
			name:        "bad duration names key and variable",
			env:         []string{"BFF_OIDC_REFRESH_SKEW=30"},
			wantProblem: "oidc.refreshSkew",
			wantInMsg:   "env BFF_OIDC_REFRESH_SKEW: \"30\" is not a duration",
		},
		{
			name:        "bad bool",
			env:         []string{"BFF_OIDC_ALLOW_INSECURE_ISSUER=maybe"},
			wantProblem: "oidc.allowInsecureIssuer",
			wantInMsg:   "not a boolean",
		},
		{
			name:        "bad int",
			env:         []string{"BFF_SESSION_MAX_PENDING_LOGINS=five"},
			wantProblem: "session.maxPendingLogins",
			wantInMsg:   "not an integer",
		},
		{
			name:        "routes with an unknown key",
			env:         []string{`BFF_ROUTES=[{path: /api/, upstrem: "http://x"}]`},
			wantProblem: "routes[0].upstrem",
			wantInMsg:   "unknown key",
		},
		{
			name:  "routes as JSON",
			env:   []string{`BFF_ROUTES=[{"path": "/api/", "upstream": "http://127.0.0.1:9000"}]`},
			check: func(c Config) bool { return len(c.Routes) == 1 && c.Routes[0].Auth == "required" },
		},
		{
			name: "routes with the body bound off and an opted-in plain-http upstream",
			env:  []string{`BFF_ROUTES=[{path: /api/, upstream: "http://api:9000", maxRequestBody: 0, allowInsecureUpstream: true}]`},
			check: func(c Config) bool {
				r := c.Routes[0]
				return r.MaxRequestBody != nil && *r.MaxRequestBody == 0 && r.AllowInsecureUpstream
			},
		},
		{
			name:  "header bound from the environment",
			env:   []string{"BFF_SERVER_MAX_HEADER_BYTES=32768"},
			check: func(c Config) bool { return c.Server.MaxHeaderBytes == 32<<10 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Source{Env: tt.env})
			if tt.wantProblem != "" {
				ps := problemsOf(t, err)
				if _, ok := findProblem(ps, tt.wantProblem, tt.wantInMsg); !ok {
					t.Fatalf("want a problem at %s containing %q, got %v", tt.wantProblem, tt.wantInMsg, ps)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}
