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
	h, jwk := credentialHandlers(t)
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
		checkSent(t, tc.name, cred, err, tc.want+" at", tc.want == "DPoP")
	}
}

// checkSent applies cred (made with err) to a request and checks what it sends: the
// Authorization header, and a DPoP proof exactly when dpopWanted.
func checkSent(t *testing.T, name string, cred credential.Credential, err error, authorization string, dpopWanted bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out, _ := http.NewRequest(http.MethodGet, "https://api.example/x", nil)
	if err := cred.Apply(out); err != nil {
		t.Fatal(err)
	}
	if got := out.Header.Get("Authorization"); got != authorization {
		t.Errorf("%s: Authorization %q, want %q", name, got, authorization)
	}
	if _, isDPoP := cred.(credential.DPoP); isDPoP != dpopWanted || (out.Header.Get("DPoP") != "") != dpopWanted {
		t.Errorf("%s: credential %T, proof %q", name, cred, out.Header.Get("DPoP"))
	}
}

// TestRouteCredentialFollowsTheTokenType: a route's token is sent as the session's own
// would be (Bearer, or DPoP proven with the session's key), and a type this BFF cannot
// send is a 502 token_refused: never the session's main token in its place.
func TestRouteCredentialFollowsTheTokenType(t *testing.T) {
	h, jwk := credentialHandlers(t)
	cases := []struct {
		name, typ, key string
		want           string // the Authorization scheme; "" refused
	}{
		{"bearer", "Bearer", "", "Bearer"},
		{"no type", "", string(jwk), "Bearer"},
		{"dpop with the session's key", "DPoP", string(jwk), "DPoP"},
		{"dpop without a session key", "DPoP", "", ""},
		{"mac", "MAC", string(jwk), ""},
	}
	for _, tc := range cases {
		rec := &session.Record{AccessToken: "main-token", TokenType: "Bearer", DPoPKey: tc.key}
		cred, err := h.routeCredential(rec, session.RouteToken{AccessToken: "route-token", TokenType: tc.typ})
		if tc.want == "" {
			var p *problem.Error
			if !errors.As(err, &p) || p.Status != http.StatusBadGateway || p.Type != problem.TokenRefused || cred != nil {
				t.Errorf("%s: %v, %v; want a 502 token_refused and no credential", tc.name, cred, err)
			}
			continue
		}
		checkSent(t, tc.name, cred, err, tc.want+" route-token", tc.want == "DPoP")
	}
	if _, err := h.routeCredential(&session.Record{AccessToken: "main-token"}, session.RouteToken{}); err == nil {
		t.Error("an empty route token was accepted")
	}
	// A DPoP session's route token answered Bearer (not bound): refused, never sent.
	dpopRec := &session.Record{AccessToken: "main-token", TokenType: "DPoP", DPoPKey: string(jwk)}
	for _, typ := range []string{"Bearer", ""} {
		var p *problem.Error
		cred, err := h.routeCredential(dpopRec, session.RouteToken{AccessToken: "route-token", TokenType: typ})
		if !errors.As(err, &p) || p.Status != http.StatusBadGateway || p.Type != problem.TokenRefused || cred != nil {
			t.Errorf("%q route token of a DPoP session: %v, %v; want a 502 token_refused and no credential", typ, cred, err)
		}
	}
}

// credentialHandlers is a Handlers that can make credentials, and a session DPoP key (a
// private JWK) for records.
func credentialHandlers(t *testing.T) (*Handlers, []byte) {
	t.Helper()
	key, err := dpop.NewKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := key.MarshalPrivate()
	if err != nil {
		t.Fatal(err)
	}
	return &Handlers{upstreamNonces: &dpop.Nonces{}}, jwk
}
