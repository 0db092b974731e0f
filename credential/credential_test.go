package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/dpop"
)

func TestBearerSetsItsOwnHeader(t *testing.T) {
	out, _ := http.NewRequest(http.MethodGet, "https://api.example/x", nil)
	out.Header.Set("Authorization", "Basic c3B5OnNweQ==") // the client's, to be replaced
	if err := NewBearer("t0k3n").Apply(out); err != nil {
		t.Fatal(err)
	}
	if got := out.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer t0k3n" {
		t.Fatalf("Authorization = %q, want exactly [Bearer t0k3n]", got)
	}
}

func TestEmptyTokenIsNoCredential(t *testing.T) {
	if c := NewBearer(""); c != nil {
		t.Fatalf("NewBearer(\"\") = %v, want nil (never \"Bearer \" with nothing)", c)
	}
	out, _ := http.NewRequest(http.MethodGet, "https://api.example/x", nil)
	if err := (Bearer{}).Apply(out); !errors.Is(err, ErrEmpty) || out.Header.Get("Authorization") != "" {
		t.Fatalf("zero Bearer applied: err %v, Authorization %q", err, out.Header.Get("Authorization"))
	}
}

// TestCredentialNeverPrintsItsToken: a credential that reaches a log line, an error or an
// encoder by mistake shows no token, whatever the verb, also when it sits in a struct's
// unexported field (where fmt cannot call its methods).
func TestCredentialNeverPrintsItsToken(t *testing.T) {
	const tok = "s3cr3t-access-token"
	key, err := dpop.NewKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	bearer, dpopCred := NewBearer(tok), NewDPoP(tok, key, nil)
	for _, c := range []Credential{bearer, dpopCred} {
		holders := []any{c, Session{Credential: c, Identity: Identity{Subject: "alice"}},
			struct{ c Credential }{c}, &struct{ c Credential }{c}}
		switch k := c.(type) {
		case Bearer:
			holders = append(holders, struct{ b Bearer }{k})
		case DPoP:
			holders = append(holders, struct{ d DPoP }{k})
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%t", "%o", "%b", "%e", "%c", "%U", "%p"} {
			for _, h := range holders {
				if got := fmt.Sprintf(verb, h); strings.Contains(got, tok) || strings.Contains(got, hex.EncodeToString([]byte(tok))) {
					t.Errorf("%s of %T printed the token: %s", verb, h, got)
				}
			}
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cred", c, "session", Session{Credential: c})
		j, _ := json.Marshal(Session{Credential: c})
		if strings.Contains(buf.String()+string(j), tok) {
			t.Errorf("a log line or JSON printed the token: %s %s", buf.String(), j)
		}
	}
}
