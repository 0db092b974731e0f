package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		set  map[string]string
		want string
	}{
		{name: "default", want: "info"},
		{name: "file over default", file: "log: {level: warn}\n", want: "warn"},
		{name: "env over file", file: "log: {level: warn}\n", env: []string{"BFF_LOG_LEVEL=error"}, want: "error"},
		{name: "env over default", env: []string{"BFF_LOG_LEVEL=error"}, want: "error"},
		{
			name: "set over env and file",
			file: "log: {level: warn}\n", env: []string{"BFF_LOG_LEVEL=error"},
			set: map[string]string{"log.level": "debug"}, want: "debug",
		},
		{name: "empty env keeps file", file: "log: {level: warn}\n", env: []string{"BFF_LOG_LEVEL="}, want: "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Source{Env: tt.env, Set: tt.set}
			if tt.file != "" {
				src.File = writeFile(t, "bff.yaml", tt.file)
			}
			c, err := Load(src)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Log.Level != tt.want {
				t.Errorf("log.level = %q, want %q", c.Log.Level, tt.want)
			}
		})
	}
}

func TestLoadSet(t *testing.T) {
	tests := []struct {
		name      string
		set       map[string]string
		check     func(c Config) bool
		wantPath  string
		wantInMsg string
	}{
		{
			name:  "list",
			set:   map[string]string{"server.trustedProxies": "10.0.0.0/8,192.168.0.1"},
			check: func(c Config) bool { return len(c.Server.TrustedProxies) == 2 },
		},
		{
			name:  "empty value clears a list",
			set:   map[string]string{"oidc.authParams": ""},
			check: func(c Config) bool { return len(c.OIDC.AuthParams) == 0 },
		},
		{
			name: "routes",
			set:  map[string]string{"routes": "[{path: /a/, upstream: 'http://127.0.0.1:1'}, {path: /b/, upstream: 'http://127.0.0.1:2', auth: optional}]"},
			check: func(c Config) bool {
				return len(c.Routes) == 2 && c.Routes[1].Auth == "optional" && c.Routes[0].Name == "/a/"
			},
		},
		{
			name:      "unknown key",
			set:       map[string]string{"oidc.secret": "x"},
			wantPath:  "oidc.secret",
			wantInMsg: "unknown key in --set",
		},
		{
			name:      "case typo suggests the key",
			set:       map[string]string{"oidc.clientid": "x"},
			wantPath:  "oidc.clientid",
			wantInMsg: `did you mean "oidc.clientID"?`,
		},
		{
			name:      "route field is not a key of its own",
			set:       map[string]string{"routes[0].path": "/x/"},
			wantPath:  "routes[0].path",
			wantInMsg: "unknown key",
		},
		{
			name:      "bad duration",
			set:       map[string]string{"session.idleTimeout": "soon"},
			wantPath:  "session.idleTimeout",
			wantInMsg: "--set session.idleTimeout",
		},
		{
			name:      "routes not a sequence",
			set:       map[string]string{"routes": "path: /a/"},
			wantPath:  "routes",
			wantInMsg: "want a list",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Source{Set: tt.set})
			if tt.wantPath != "" {
				if _, ok := findProblem(problemsOf(t, err), tt.wantPath, tt.wantInMsg); !ok {
					t.Fatalf("want a problem at %s containing %q, got %v", tt.wantPath, tt.wantInMsg, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(Source{File: "/nonexistent/bff.yaml"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// A config file is read bounded, like anything else: a mistaken path to a huge file
// (or a device) must not exhaust memory.
func TestLoadRefusesHugeFile(t *testing.T) {
	big := "# " + strings.Repeat("x", maxConfigFileSize) + "\n"
	_, err := Load(Source{File: writeFile(t, "bff.yaml", big)})
	if !errors.Is(err, errTooLarge) {
		t.Fatalf("Load of a %d-byte file: %v, want errTooLarge", len(big), err)
	}
}

func TestLoadAppliesRouteDefaults(t *testing.T) {
	c, err := Load(Source{File: writeFile(t, "bff.yaml", "routes:\n  - {path: /api/, upstream: 'http://127.0.0.1:9000'}\n  - {name: other, path: /o/, upstream: 'http://127.0.0.1:9001', auth: none, timeout: 1s, retryOn401: false}\n")})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r0, r1 := c.Routes[0], c.Routes[1]
	if r0.Name != "/api/" || r0.Auth != "required" || r0.Timeout.String() != "30s" || r0.RetryOn401 == nil || !*r0.RetryOn401 {
		t.Errorf("defaults not applied: %+v", r0)
	}
	if r1.Name != "other" || r1.Auth != "none" || r1.Timeout.String() != "1s" || r1.RetryOn401 == nil || *r1.RetryOn401 {
		t.Errorf("explicit values overridden: %+v", r1)
	}
	if err := Validate(func() Config { v := validConfig(); v.Routes = c.Routes; return v }()); err != nil {
		t.Errorf("loaded routes do not validate: %v", err)
	}
}

func TestLoadSetEmptyValueClearsFileValue(t *testing.T) {
	file := writeFile(t, "bff.yaml", "routes:\n  - {path: /api/, upstream: 'http://127.0.0.1:9000'}\nserver:\n  trustedProxies: [10.0.0.0/8]\n")
	c, err := Load(Source{File: file, Set: map[string]string{"routes": "", "server.trustedProxies": ""}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Routes) != 0 || len(c.Server.TrustedProxies) != 0 {
		t.Errorf("--set key= did not clear: routes %v, trustedProxies %v", c.Routes, c.Server.TrustedProxies)
	}
	// The environment cannot clear: an empty variable counts as unset.
	c, err = Load(Source{File: file, Env: []string{"BFF_ROUTES=", "BFF_SERVER_TRUSTED_PROXIES="}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Routes) != 1 || len(c.Server.TrustedProxies) != 1 {
		t.Errorf("an empty env variable cleared the file's value: routes %v, trustedProxies %v", c.Routes, c.Server.TrustedProxies)
	}
}
