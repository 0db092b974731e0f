package demoop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

func (e *testEnv) verifier(t *testing.T, clientID string) *gooidc.IDTokenVerifier {
	t.Helper()
	p, err := gooidc.NewProvider(e.ctx(t), e.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&gooidc.Config{ClientID: clientID})
}

func TestLogoutTokenVerifiesWithGoOIDC(t *testing.T) {
	tests := []struct {
		name, sub, sid string
	}{
		{name: "sub and sid", sub: "user-1", sid: "sid-1"},
		{name: "sub only", sub: "user-1"},
		{name: "sid only", sid: "sid-1"},
	}
	e := newTestEnv(t)
	v := e.verifier(t, testClientID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := e.op.LogoutToken(testClientID, tt.sub, tt.sid)
			if err != nil {
				t.Fatal(err)
			}
			lt, err := v.VerifyLogout(e.ctx(t), raw)
			if err != nil {
				t.Fatalf("VerifyLogout: %v", err)
			}
			if lt.Subject != tt.sub || lt.SessionID != tt.sid || lt.TokenID == "" || lt.Issuer != e.issuer {
				t.Errorf("logout token = %+v", lt)
			}
			if d := lt.Expiry.Sub(lt.IssuedAt); d != logoutTokenTTL {
				t.Errorf("exp - iat = %v", d)
			}
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			if typ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType]; typ != "logout+jwt" {
				t.Errorf("typ = %v, want logout+jwt", typ)
			}
			if _, ok := claims(t, raw)["nonce"]; ok {
				t.Error("logout token carries a nonce")
			}
		})
	}
}

func TestLogoutTokenArguments(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name               string
		client, sub, sid   string
		wantErr            error
		wantAudienceForBFF bool
	}{
		{name: "unknown client", client: "nope", sub: "u", wantErr: ErrUnknownClient},
		{name: "neither sub nor sid", client: testClientID, wantErr: ErrNoLogoutSubject},
		{name: "other client's token", client: otherClientID, sub: "u"},
	}
	v := e.verifier(t, testClientID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := e.op.LogoutToken(tt.client, tt.sub, tt.sid)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if _, err := v.VerifyLogout(e.ctx(t), raw); err == nil {
					t.Error("a logout token for another audience verified for the BFF")
				}
			}
		})
	}
}

// TestForgedLogoutTokenFailsVerification_KeySubstitution: a token that is right in every
// claim but signed by another key must not verify, while SignJWT's does. This is what
// makes SignJWT useful for negative tests in the BFF.
func TestForgedLogoutTokenFailsVerification_KeySubstitution(t *testing.T) {
	e := newTestEnv(t)
	now := time.Now()
	claimSet := map[string]any{
		"iss": e.issuer, "aud": testClientID, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti": "j1", "sub": "u1", "events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	}
	v := e.verifier(t, testClientID)
	signed, err := e.op.SignJWT(claimSet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyLogout(e.ctx(t), signed); err != nil {
		t.Fatalf("SignJWT token does not verify: %v", err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := &signingKey{id: e.op.keys.signing().id, key: other} // same kid, wrong key
	raw, err := forged.sign(claimSet, "logout+jwt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyLogout(e.ctx(t), raw); err == nil {
		t.Fatal("a logout token signed by another key verified")
	}
}

// rpRecorder is a relying party's back-channel logout endpoint.
type rpRecorder struct {
	mu     sync.Mutex
	tokens []string
	status int
}

func (rp *rpRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		rp.tokens = append(rp.tokens, r.PostFormValue("logout_token"))
	}
	w.WriteHeader(rp.status)
}

func (rp *rpRecorder) received() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.tokens...)
}

func TestBackchannelLogoutPostsALogoutToken(t *testing.T) {
	rp := &rpRecorder{status: http.StatusOK}
	rpSrv := httptest.NewServer(rp)
	defer rpSrv.Close()
	e := newTestEnv(t, func(c *Config) { c.Clients[0].BackchannelLogoutURI = rpSrv.URL + "/bff/backchannel-logout" })
	cfg := e.bffConfig()
	tok := e.tokens(t, cfg)
	if err := e.op.BackchannelLogout(t.Context(), DefaultUsers()[0].Subject); err != nil {
		t.Fatalf("BackchannelLogout: %v", err)
	}
	got := rp.received()
	if len(got) != 1 {
		t.Fatalf("RP received %d logout tokens, want 1", len(got))
	}
	lt, err := e.verifier(t, testClientID).VerifyLogout(e.ctx(t), got[0])
	if err != nil {
		t.Fatalf("VerifyLogout: %v", err)
	}
	if lt.Subject != DefaultUsers()[0].Subject || lt.SessionID != claims(t, idToken(t, tok))["sid"] {
		t.Errorf("logout token sub=%q sid=%q", lt.Subject, lt.SessionID)
	}
	if _, err := e.refresh(t, cfg, tok.RefreshToken); oauthErrorCode(err) != "invalid_grant" {
		t.Errorf("refresh after back-channel logout: %v, want invalid_grant", err)
	}
	if err := e.op.BackchannelLogout(t.Context(), DefaultUsers()[0].Subject); err != nil || len(rp.received()) != 1 {
		t.Errorf("second logout: err=%v, deliveries=%d; want nothing to notify", err, len(rp.received()))
	}
}

func TestBackchannelLogoutReportsRejection(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr error
	}{
		{name: "500", status: http.StatusInternalServerError, wantErr: ErrBackchannelLogoutRejected},
		{name: "redirect is not followed", status: http.StatusFound, wantErr: ErrBackchannelLogoutRejected},
		{name: "204 is success", status: http.StatusNoContent, wantErr: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := &rpRecorder{status: tt.status}
			rpSrv := httptest.NewServer(rp)
			defer rpSrv.Close()
			e := newTestEnv(t, func(c *Config) { c.Clients[0].BackchannelLogoutURI = rpSrv.URL })
			e.tokens(t, e.bffConfig())
			err := e.op.BackchannelLogout(t.Context(), DefaultUsers()[0].Subject)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), rp.received()[0]) {
				t.Error("the error contains the logout token")
			}
		})
	}
}

func TestBackchannelLogoutHonoursContext(t *testing.T) {
	block := make(chan struct{})
	rpSrv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer rpSrv.Close()
	defer close(block)
	e := newTestEnv(t, func(c *Config) { c.Clients[0].BackchannelLogoutURI = rpSrv.URL })
	e.tokens(t, e.bffConfig())
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := e.op.BackchannelLogout(ctx, DefaultUsers()[0].Subject); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestRotateSigningKeyPublishesAndSignsAtOnce: after RotateSigningKey the JWKS lists the
// new key and the previous one, and every new token carries the new kid and verifies.
func TestRotateSigningKeyPublishesAndSignsAtOnce(t *testing.T) {
	e := newTestEnv(t)
	old := e.op.keys.signing().id
	kid, err := e.op.RotateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if kid == old {
		t.Fatal("the rotated-in key has the old kid")
	}
	resp, err := e.srv.Client().Get(e.issuer + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != kid || jwks.Keys[1].Kid != old {
		t.Fatalf("JWKS kids %+v, want [%s %s]", jwks.Keys, kid, old)
	}
	raw, err := e.op.LogoutToken(testClientID, "u1", "")
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if got := jws.Signatures[0].Header.KeyID; got != kid {
		t.Fatalf("logout token kid %q, want %q", got, kid)
	}
	if _, err := e.verifier(t, testClientID).VerifyLogout(e.ctx(t), raw); err != nil {
		t.Fatalf("token signed by the rotated-in key: %v", err)
	}
}
