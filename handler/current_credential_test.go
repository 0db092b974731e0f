package handler

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/dpop"
	"github.com/tokenward/bff/problem"
	"github.com/tokenward/bff/session"
)

// TestRecordCredentialFollowsTheTokenType: a Bearer record is sent as a bearer, a DPoP
// record with its key as DPoP; a DPoP record whose key is missing or broken, or a record
// of another type, is refused (503), never sent as a bearer.
func TestRecordCredentialFollowsTheTokenType(t *testing.T) {
	key, err := dpop.NewKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := key.MarshalPrivate()
	h := &Handlers{upstreamNonces: &dpop.Nonces{}}
	cases := []struct {
		name, typ, key string
		want           string // the Authorization scheme; "" refused
	}{
		{"bearer", "Bearer", "", "Bearer"},
		{"no type", "", "", "Bearer"},
		{"dpop", "DPoP", string(jwk), "DPoP"},
		{"dpop without key", "DPoP", "", ""},
		{"dpop with a broken key", "dpop", `{"kty":"EC"}`, ""},
		{"mac", "MAC", string(jwk), ""},
	}
	for _, tc := range cases {
		cred, err := h.recordCredential(&session.Record{AccessToken: "at", TokenType: tc.typ, DPoPKey: tc.key})
		if tc.want == "" {
			var p *problem.Error
			if !errors.As(err, &p) || p.Status != http.StatusServiceUnavailable || cred != nil {
				t.Errorf("%s: %v, %v; want a 503 problem and no credential", tc.name, cred, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out, _ := http.NewRequest(http.MethodGet, "https://api.example/x", nil)
		if err := cred.Apply(out); err != nil {
			t.Fatal(err)
		}
		if got := out.Header.Get("Authorization"); got != tc.want+" at" {
			t.Errorf("%s: Authorization %q", tc.name, got)
		}
		if _, isDPoP := cred.(credential.DPoP); isDPoP != (tc.want == "DPoP") || (out.Header.Get("DPoP") != "") != isDPoP {
			t.Errorf("%s: credential %T, proof %q", tc.name, cred, out.Header.Get("DPoP"))
		}
	}
}
