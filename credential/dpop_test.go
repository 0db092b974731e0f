package credential

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tokenward/bff/dpop"
)

// TestDPoPAppliesAFreshBoundProof: Apply sets the DPoP scheme and a proof the upstream
// verifies for the request's method, URL and token, once; a second Apply makes a new one.
func TestDPoPAppliesAFreshBoundProof(t *testing.T) {
	key, err := dpop.NewKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	c := NewDPoP("t0k3n", key, nil)
	v := dpop.NewVerifier(nil, 0)
	for range 2 {
		out, _ := http.NewRequest(http.MethodPut, "https://api.example/orders/7?x=1", nil)
		out.Header.Set("Authorization", "Bearer stale")
		if err := c.Apply(out); err != nil {
			t.Fatal(err)
		}
		if got := out.Header.Values("Authorization"); len(got) != 1 || got[0] != "DPoP t0k3n" {
			t.Fatalf("Authorization = %q", got)
		}
		check := dpop.Check{Method: http.MethodPut, URL: out.URL, AccessToken: "t0k3n", JKT: key.JKT()}
		if _, err := v.Verify(out.Header.Get("DPoP"), check); err != nil {
			t.Fatalf("proof: %v", err)
		}
	}
	if NewDPoP("", key, nil) != nil || NewDPoP("t", nil, nil) != nil {
		t.Fatal("a DPoP credential without token or key")
	}
	out, _ := http.NewRequest(http.MethodGet, "https://api.example/", nil)
	if err := (DPoP{}).Apply(out); !errors.Is(err, ErrEmpty) {
		t.Fatalf("zero DPoP: %v", err)
	}
}

// TestDPoPAnswersTheNonceChallenge: a use_dpop_nonce 401 is a challenge the credential
// answers (the next proof to that origin carries the nonce); any other 401 is not.
func TestDPoPAnswersTheNonceChallenge(t *testing.T) {
	key, _ := dpop.NewKey(dpop.ES256)
	c := NewDPoP("t0k3n", key, nil).(DPoP)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example/a", nil)
	other := &http.Response{StatusCode: 401, Request: req, Header: http.Header{"Www-Authenticate": {`DPoP error="invalid_token"`}, "Dpop-Nonce": {"n-1"}}}
	if c.Challenge(other) {
		t.Fatal("invalid_token taken for a nonce challenge")
	}
	challenge := &http.Response{StatusCode: 401, Request: req, Header: http.Header{"Www-Authenticate": {`DPoP error="use_dpop_nonce"`}, "Dpop-Nonce": {"n-2"}}}
	if !c.Challenge(challenge) {
		t.Fatal("nonce challenge not answered")
	}
	out, _ := http.NewRequest(http.MethodGet, "https://api.example/b", nil)
	if err := c.Apply(out); err != nil {
		t.Fatal(err)
	}
	check := dpop.Check{Method: http.MethodGet, URL: out.URL, AccessToken: "t0k3n", Nonce: "n-2"}
	if _, err := dpop.NewVerifier(nil, 0).Verify(out.Header.Get("DPoP"), check); err != nil {
		t.Fatalf("proof after the challenge: %v", err)
	}
}
