package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadYAMLStrict(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantPath  string
		wantInMsg string
	}{
		{
			name:      "unknown top-level key",
			yaml:      "server:\n  listen: \":8080\"\nsevrer: {}\n",
			wantPath:  "sevrer",
			wantInMsg: "line 3: unknown key",
		},
		{
			name:      "unknown nested key names its line",
			yaml:      "oidc:\n  issuer: https://idp.example.com\n  clientSecrt: x\n",
			wantPath:  "oidc.clientSecrt",
			wantInMsg: "line 3: unknown key",
		},
		{
			name:      "wrong case suggests the key",
			yaml:      "oidc:\n  clientId: spa\n",
			wantPath:  "oidc.clientId",
			wantInMsg: `did you mean "clientID"?`,
		},
		{
			name:      "unknown key inside a route",
			yaml:      "routes:\n  - path: /api/\n    upstream: http://127.0.0.1:9000\n    strip: /api\n",
			wantPath:  "routes[0].strip",
			wantInMsg: "line 4: unknown key",
		},
		{
			name:      "duplicate key",
			yaml:      "log:\n  level: info\n  level: debug\n",
			wantPath:  "log.level",
			wantInMsg: "line 3: duplicate key (first at line 2)",
		},
		{
			name:      "list given as a single value",
			yaml:      "oidc:\n  scopes: openid profile\n",
			wantPath:  "oidc.scopes",
			wantInMsg: "want a list",
		},
		{
			name:      "section given as a single value",
			yaml:      "session: redis\n",
			wantPath:  "session",
			wantInMsg: "want a mapping",
		},
		{
			name:      "bare integer is not a duration",
			yaml:      "oidc:\n  refreshSkew: 30\n",
			wantPath:  "oidc.refreshSkew",
			wantInMsg: `"30" is not a valid duration`,
		},
		{
			name:      "bad integer",
			yaml:      "session:\n  maxPendingLogins: many\n",
			wantPath:  "session.maxPendingLogins",
			wantInMsg: "line 2",
		},
		{
			name:      "root is not a mapping",
			yaml:      "- a\n- b\n",
			wantPath:  "(root)",
			wantInMsg: "want a mapping",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Source{File: writeFile(t, "bff.yaml", tt.yaml)})
			ps := problemsOf(t, err)
			if _, ok := findProblem(ps, tt.wantPath, tt.wantInMsg); !ok {
				t.Fatalf("want a problem at %s containing %q, got %v", tt.wantPath, tt.wantInMsg, ps)
			}
		})
	}
}

func TestLoadYAMLReportsEveryProblemAtOnce(t *testing.T) {
	yaml := "sevrer: {}\noidc:\n  clientSecrt: x\n  refreshSkew: 5\nlog:\n  colour: red\n"
	ps := problemsOf(t, func() error { _, err := Load(Source{File: writeFile(t, "bff.yaml", yaml)}); return err }())
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	want := []string{"log.colour", "oidc.clientSecrt", "oidc.refreshSkew", "sevrer"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problem paths = %v, want %v (all of them, sorted)", got, want)
	}
}

func TestLoadYAMLErrors(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantInErr string
	}{
		{name: "syntax error", yaml: "server:\n  listen: [\n", wantInErr: "parse YAML"},
		{name: "two documents", yaml: "log: {level: info}\n---\nlog: {level: debug}\n", wantInErr: "more than one document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Source{File: writeFile(t, "bff.yaml", tt.yaml)})
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.wantInErr)
			}
		})
	}
}

// yaml.v3's own type errors quote the first bytes of the value; a secret given the
// wrong shape must not end up in an error string (and from there in a log).
func TestLoadYAMLShapeErrorDoesNotLeakSecret(t *testing.T) {
	const secret = "SUPERSECRETVALUE"
	tests := []struct {
		name string
		yaml string
	}{
		{name: "keys as a single value", yaml: "session:\n  keys: " + secret + "\n"},
		{name: "keys holding a mapping", yaml: "session:\n  keys:\n    - {k: " + secret + "}\n"},
		{name: "client secret as a list", yaml: "oidc:\n  clientSecret: [" + secret + "]\n"},
		{name: "redis URL as a mapping", yaml: "session:\n  redisURL: {url: " + secret + "}\n"},
		{name: "client secret as bad binary", yaml: "oidc:\n  clientSecret: !!binary " + secret + "%%\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Source{File: writeFile(t, "bff.yaml", tt.yaml)})
			if err == nil {
				t.Fatal("Load accepted a secret of the wrong shape")
			}
			if strings.Contains(err.Error(), secret[:6]) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestLoadYAMLValues(t *testing.T) {
	yaml := `
defaults: &route
  upstream: http://127.0.0.1:9000
  timeout: 5s
server:
  publicURL: https://app.example.com
  listen: ":8443"
oidc:
  scopes: [openid, email]
  clientSecret:            # empty: keeps the default
  allowInsecureIssuer: true
routes:
  - <<: *route
    path: /api/
  - <<: *route
    path: /other/
    timeout: 9s
    retryOn401: false
`
	// "defaults" is not a key of Config: anchors must live inside known keys.
	_, err := Load(Source{File: writeFile(t, "bff.yaml", yaml)})
	if _, ok := findProblem(problemsOf(t, err), "defaults", "unknown key"); !ok {
		t.Fatalf("an unknown top-level anchor holder must be refused, got %v", err)
	}

	yaml = strings.Replace(yaml, "defaults: &route\n  upstream: http://127.0.0.1:9000\n  timeout: 5s\n", "", 1)
	yaml = strings.Replace(yaml, "routes:\n  - <<: *route\n", "routes:\n  - &route\n    upstream: http://127.0.0.1:9000\n    timeout: 5s\n", 1)
	c, err := Load(Source{File: writeFile(t, "bff.yaml", yaml)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	no := false
	want := []Route{
		{Name: "/api/", Path: "/api/", Upstream: "http://127.0.0.1:9000", Auth: "required", Timeout: 5 * time.Second, UploadIdleTimeout: 30 * time.Second, RetryOn401: c.Routes[0].RetryOn401, MaxRequestBody: c.Routes[0].MaxRequestBody},
		{Name: "/other/", Path: "/other/", Upstream: "http://127.0.0.1:9000", Auth: "required", Timeout: 9 * time.Second, UploadIdleTimeout: 30 * time.Second, RetryOn401: &no, MaxRequestBody: c.Routes[1].MaxRequestBody},
	}
	if !reflect.DeepEqual(c.Routes, want) || !*c.Routes[0].RetryOn401 || *c.Routes[0].MaxRequestBody != 10<<20 {
		t.Errorf("routes = %+v, want %+v", c.Routes, want)
	}
	if c.Server.Listen != ":8443" || c.Server.AdminListen != ":9090" {
		t.Errorf("listen = %q admin = %q: a file key must override only itself", c.Server.Listen, c.Server.AdminListen)
	}
	if !reflect.DeepEqual(c.OIDC.Scopes, []string{"openid", "email"}) || !c.OIDC.AllowInsecureIssuer {
		t.Errorf("oidc = %+v", c.OIDC)
	}
	if c.OIDC.TokenEndpointAuth != "client_secret_basic" {
		t.Errorf("unset key lost its default: %q", c.OIDC.TokenEndpointAuth)
	}
}

func TestLoadEmptyFileGivesDefaults(t *testing.T) {
	c, err := Load(Source{File: writeFile(t, "bff.yaml", "# nothing yet\n")})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !reflect.DeepEqual(c, Defaults()) {
		t.Errorf("empty file: got %+v, want Defaults()", c)
	}
}
