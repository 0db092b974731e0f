package credential

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
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

// TestCredentialNeverPrintsItsToken: a credential that reaches a log line or an error by
// mistake shows no token, whatever the verb.
func TestCredentialNeverPrintsItsToken(t *testing.T) {
	c := NewBearer("s3cr3t-access-token")
	s := Session{Credential: c, Identity: Identity{Subject: "alice"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if got := fmt.Sprintf(verb, c) + fmt.Sprintf(verb, s); strings.Contains(got, "s3cr3t") {
			t.Errorf("%s printed the token: %s", verb, got)
		}
	}
}
