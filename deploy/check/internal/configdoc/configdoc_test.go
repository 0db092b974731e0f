package configdoc_test

import (
	"errors"
	"os"
	"testing"

	"github.com/tokenward/bff/deploy/check/internal/configdoc"
	"github.com/tokenward/bff/deploy/check/internal/repo"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		md      string
		want    []configdoc.Entry
		wantErr error
	}{
		{
			name: "a key table row",
			md: "| Key | Env | Type | Default | Meaning |\n| --- | --- | --- | --- | --- |\n" +
				"| `server.listen` | `BFF_SERVER_LISTEN` | string | `:8080` | Public listener. |\n",
			want: []configdoc.Entry{{Key: "server.listen", Env: "BFF_SERVER_LISTEN", Type: "string"}},
		},
		{
			name: "a secret key",
			md:   "| `oidc.clientSecret` | `BFF_OIDC_CLIENT_SECRET` | string, secret | *required* | Client secret. |\n",
			want: []configdoc.Entry{{Key: "oidc.clientSecret", Env: "BFF_OIDC_CLIENT_SECRET", Type: "string, secret", Secret: true}},
		},
		{
			name: "the syntax table is not a key table",
			md: "| type | syntax | example |\n| --- | --- | --- |\n" +
				"| string | as is | `BFF_OIDC_CLIENT_ID=spa` |\n" +
				"| `server.listen` | `BFF_SERVER_LISTEN` | string | | |\n",
			want: []configdoc.Entry{{Key: "server.listen", Env: "BFF_SERVER_LISTEN", Type: "string"}},
		},
		{
			name: "the secret-files table is not a key table",
			md: "| `oidc.clientSecret` | `oidc.clientSecretFile` | `BFF_OIDC_CLIENT_SECRET_FILE` | the secret |\n" +
				"| `server.listen` | `BFF_SERVER_LISTEN` | string | | |\n",
			want: []configdoc.Entry{{Key: "server.listen", Env: "BFF_SERVER_LISTEN", Type: "string"}},
		},
		{
			name:    "no key table at all",
			md:      "# Configuration\n\nNothing here.\n",
			wantErr: configdoc.ErrNoKeys,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configdoc.Parse([]byte(tt.md))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Parse = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseRefusesAnEnvNameDocumentedTwice(t *testing.T) {
	md := "| `a.b` | `BFF_A_B` | string | | |\n| `a.b2` | `BFF_A_B` | string | | |\n"
	if _, err := configdoc.Parse([]byte(md)); err == nil {
		t.Fatal("Parse accepted two rows for BFF_A_B")
	}
}

// The real document must yield the keys the deployment artefacts rely on.
func TestParseTheRealConfigurationReference(t *testing.T) {
	path, err := repo.Path("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := configdoc.Parse(md)
	if err != nil {
		t.Fatal(err)
	}
	idx := configdoc.EnvIndex(entries)
	for _, tt := range []struct {
		env    string
		key    string
		secret bool
	}{
		{env: "BFF_SERVER_PUBLIC_URL", key: "server.publicURL"},
		{env: "BFF_OIDC_CLIENT_SECRET", key: "oidc.clientSecret", secret: true},
		{env: "BFF_OIDC_CLIENT_SECRET_FILE", key: "oidc.clientSecretFile"},
		{env: "BFF_SESSION_KEYS", key: "session.keys", secret: true},
		{env: "BFF_SESSION_REDIS_URL", key: "session.redisURL", secret: true},
		{env: "BFF_ROUTES", key: "routes"},
	} {
		e, ok := idx[tt.env]
		if !ok {
			t.Errorf("%s is not in docs/configuration.md", tt.env)
			continue
		}
		if e.Key != tt.key || e.Secret != tt.secret {
			t.Errorf("%s = %+v, want key %s, secret %v", tt.env, e, tt.key, tt.secret)
		}
	}
}
