package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokenward/bff/internal/testenv"
)

// forgedLogoutToken is a logout token for sub/sid, right in every claim, signed by a key
// the OP never published under a random kid: what an attacker floods the endpoint with.
func forgedLogoutToken(t *testing.T, e *testenv.Env, key *rsa.PrivateKey, sub, sid string) string {
	t.Helper()
	kid := make([]byte, 12)
	if _, err := rand.Read(kid); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims, err := json.Marshal(map[string]any{
		"iss": e.OPServer.URL, "aud": testenv.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": "forged-" + base64.RawURLEncoding.EncodeToString(kid), "sub": sub, "sid": sid,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: key, KeyID: base64.RawURLEncoding.EncodeToString(kid)}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestIdPKeyRotationIsHonouredAtOnce: the OP rotates its signing key (published the
// same instant, no pre-publication) right after the BFF started, right before a login,
// and again right before a back-channel logout that follows a flood of forged logout
// tokens with random kids. The login and the logout both succeed: providers do not
// retry either, and the old "one JWKS fetch per 10 s, else refuse" rule failed both.
func TestIdPKeyRotationIsHonouredAtOnce(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	if _, err := e.OP.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	c := e.NewClient(t)
	sub, sid := e.UserSID(t, c) // the ID token is signed by the new key
	if got := e.UserStatus(t, c); got != http.StatusOK {
		t.Fatalf("after a login right after a key rotation: /bff/user %d", got)
	}

	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes, errs := make([]int, 20), make([]error, 20)
	client := e.NewClient(t)
	for i := range codes {
		form := url.Values{"logout_token": {forgedLogoutToken(t, e, forger, sub, sid)}}
		wg.Go(func() {
			resp, err := client.PostForm(e.URL("/bff/backchannel-logout"), form)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if errs[i] != nil || code != http.StatusBadRequest {
			t.Fatalf("forged logout token %d: %d %v, want 400", i, code, errs[i])
		}
	}
	if got := e.UserStatus(t, c); got != http.StatusOK {
		t.Fatalf("a forged logout token ended the session: %d", got)
	}

	if _, err := e.OP.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	tok, err := e.OP.LogoutToken(testenv.ClientID, sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout signed by a key rotated in right before: %d", resp.StatusCode)
	}
	if got := e.UserStatus(t, c); got != http.StatusUnauthorized {
		t.Fatalf("the session survived the back-channel logout: %d", got)
	}
}
