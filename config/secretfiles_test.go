package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadSecretFiles(t *testing.T) {
	keysFile := "# newest first\n" + testKey1 + "\n\n  " + testKey2 + "  \n# retired below\n"
	tests := []struct {
		name      string
		files     map[string]string // key path of a …File key → file content
		set       map[string]string
		check     func(c Config) bool
		wantPath  string
		wantInMsg string
	}{
		{
			name:  "client secret, trailing newline trimmed",
			files: map[string]string{"oidc.clientSecretFile": "s3cret\n"},
			check: func(c Config) bool { return c.OIDC.ClientSecret == "s3cret" },
		},
		{
			name:  "client secret, CRLF trimmed, inner spaces kept",
			files: map[string]string{"oidc.clientSecretFile": "a b\r\n"},
			check: func(c Config) bool { return c.OIDC.ClientSecret == "a b" },
		},
		{
			name:  "redis URL",
			files: map[string]string{"session.redisURLFile": "redis://:pw@127.0.0.1:6379/0\n"},
			check: func(c Config) bool { return c.Session.RedisURL == "redis://:pw@127.0.0.1:6379/0" },
		},
		{
			name:  "keys file: one per line, comments and blanks ignored",
			files: map[string]string{"session.keysFile": keysFile},
			check: func(c Config) bool { return reflect.DeepEqual(c.Session.Keys, []string{testKey1, testKey2}) },
		},
		{
			name:      "secret and its file both set",
			files:     map[string]string{"oidc.clientSecretFile": "from-file\n"},
			set:       map[string]string{"oidc.clientSecret": "inline"},
			wantPath:  "oidc.clientSecret",
			wantInMsg: "both oidc.clientSecret and oidc.clientSecretFile are set",
		},
		{
			name:      "keys and keys file both set",
			files:     map[string]string{"session.keysFile": testKey1},
			set:       map[string]string{"session.keys": testKey2},
			wantPath:  "session.keys",
			wantInMsg: "both",
		},
		{
			name:      "empty secret file",
			files:     map[string]string{"oidc.clientSecretFile": "\n"},
			wantPath:  "oidc.clientSecretFile",
			wantInMsg: "is empty",
		},
		{
			name:      "keys file with only comments",
			files:     map[string]string{"session.keysFile": "# none\n\n"},
			wantPath:  "session.keysFile",
			wantInMsg: "holds no key",
		},
		{
			name:      "missing file",
			set:       map[string]string{"session.redisURLFile": "/nonexistent/redis-url"},
			wantPath:  "session.redisURLFile",
			wantInMsg: "no such file",
		},
		{
			name:  "admin token file: 32 bytes once trimmed",
			files: map[string]string{"server.adminTokenFile": "  " + strings.Repeat("k", MinAdminTokenBytes) + "\n"},
			check: func(c Config) bool { return c.Server.AdminTokenFile != "" },
		},
		{
			name:      "admin token file: too short once trimmed",
			files:     map[string]string{"server.adminTokenFile": "  " + strings.Repeat("k", MinAdminTokenBytes-1) + " \n\n"},
			wantPath:  "server.adminTokenFile",
			wantInMsg: "shorter than 32 bytes",
		},
		{
			name:      "admin token file missing",
			set:       map[string]string{"server.adminTokenFile": "/nonexistent/admin-token"},
			wantPath:  "server.adminTokenFile",
			wantInMsg: "no such file",
		},
		{
			name:      "huge file",
			files:     map[string]string{"oidc.clientSecretFile": strings.Repeat("x", maxSecretFileSize+1)},
			wantPath:  "oidc.clientSecretFile",
			wantInMsg: "too large",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]string{}
			for k, v := range tt.set {
				set[k] = v
			}
			for key, content := range tt.files {
				set[key] = writeFile(t, "secret", content)
			}
			c, err := Load(Source{Set: set})
			if tt.wantPath != "" {
				p, ok := findProblem(problemsOf(t, err), tt.wantPath, tt.wantInMsg)
				if !ok {
					t.Fatalf("want a problem at %s containing %q, got %v", tt.wantPath, tt.wantInMsg, err)
				}
				if strings.Contains(p.Message, "from-file") || strings.Contains(p.Message, "inline") || strings.Contains(p.Message, "kkkk") {
					t.Errorf("problem leaks a secret: %s", p)
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
