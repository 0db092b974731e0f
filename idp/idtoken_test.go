package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestExchangeRefusesBadIDTokens(t *testing.T) {
	forger := newRSAKey(t)
	tests := []struct {
		name    string
		claims  func(c map[string]any, now time.Time)                   // edits a valid payload
		sign    func(t *testing.T, op *testOP, c map[string]any) string // nil: the OP's key
		noID    bool                                                    // token response without id_token
		wantErr error                                                   // nil: accepted
	}{
		{name: "valid"},
		{name: "expired within the clock skew is accepted", claims: func(c map[string]any, now time.Time) {
			c["exp"] = now.Add(-30 * time.Second).Unix()
		}},
		{name: "iat in the future within the clock skew is accepted", claims: func(c map[string]any, now time.Time) {
			c["iat"] = now.Add(30 * time.Second).Unix()
		}},
		{name: "forged signature, same kid", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string {
				return signJWT(t, forger, op.kid, jose.RS256, "", c)
			}},
		{name: "forged signature, unknown kid", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string {
				return signJWT(t, forger, "forged", jose.RS256, "", c)
			}},
		{name: "alg none (unsigned token)", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string { return unsignedJWT(t, c) }},
		{name: "HS256 keyed with the client secret (alg confusion)", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string {
				return signJWT(t, []byte(testSecret+testSecret+testSecret), op.kid, jose.HS256, "", c)
			}},
		{name: "algorithm the provider does not advertise", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string {
				return signJWT(t, op.key, op.kid, jose.PS256, "", c)
			}},
		{name: "wrong aud (token for another client)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["aud"] = "other-client" }},
		{name: "extra untrusted aud", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) {
				c["aud"], c["azp"] = []string{testClientID, "https://api.other.example"}, testClientID
			}},
		{name: "several aud without azp", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["aud"] = []string{testClientID, testClientID} }},
		{name: "azp of another client", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["azp"] = "other-client" }},
		{name: "wrong iss (mix-up)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["iss"] = "https://evil.example.net" }},
		{name: "expired", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, now time.Time) { c["exp"] = now.Add(-2 * time.Minute).Unix() }},
		{name: "exp missing", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "exp") }},
		{name: "iat in the future (pre-minted token)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, now time.Time) { c["iat"] = now.Add(5 * time.Minute).Unix() }},
		{name: "iat missing", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "iat") }},
		{name: "nonce missing (replayed token)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "nonce") }},
		{name: "nonce of another login (injected token)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["nonce"] = "nonce-of-another-login" }},
		{name: "sub missing", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "sub") }},
		{name: "at_hash of another access token (token substitution)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["at_hash"] = "zuoV3lN8-Sba5wTN3Yz8xg" }},
		{name: "no id_token in the token response", noID: true, wantErr: ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			var raw string
			op.set(func(op *testOP) {
				op.noIDToken = tt.noID
				op.idToken = func() string { // called with op.mu held
					c := op.goodIDClaimsLocked()
					if tt.claims != nil {
						tt.claims(c, op.clock.Now())
					}
					if tt.sign != nil {
						raw = tt.sign(t, op, c)
					} else {
						raw = op.signLocked(c)
					}
					return raw
				}
			})
			p, logs := op.newProvider(nil)
			ar := op.loginAs(t)
			tok, id, err := p.Exchange(context.Background(), testCode, ar)
			if tt.wantErr == nil {
				if err != nil || tok == nil || id == nil {
					t.Fatalf("Exchange = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Exchange err = %v, want %v", err, tt.wantErr)
			}
			if tok != nil || id != nil {
				t.Error("a refused ID token must yield no tokens and no identity")
			}
			assertNoSecrets(t, err.Error(), ar)
			if raw != "" && (strings.Contains(err.Error(), raw) || strings.Contains(logs.String(), raw)) {
				t.Error("the ID token appears in the error or the logs")
			}
		})
	}
}

// An ID token's iat must be neither older than the maximum token age nor in the future,
// each beyond the clock skew, at login AND in a refresh response: a stale ID token is a
// replayed one (from a log, a cache, a captured response), a future one is pre-minted.
func TestIDTokenIssuedAtIsBounded(t *testing.T) {
	tests := []struct {
		name    string
		maxAge  time.Duration // Config.MaxTokenAge; 0: the default
		iat     time.Duration // relative to now
		noIat   bool
		wantErr bool
	}{
		{name: "fresh", iat: 0},
		{name: "within the maximum age", iat: -DefaultMaxTokenAge + time.Second},
		{name: "past the maximum age but within the clock skew", iat: -DefaultMaxTokenAge - 30*time.Second},
		{name: "older than the maximum age plus skew (replayed token)", iat: -DefaultMaxTokenAge - 2*time.Minute, wantErr: true},
		{name: "a day old (replayed token)", iat: -24 * time.Hour, wantErr: true},
		{name: "an hour old, maximum age configured to 2h", maxAge: 2 * time.Hour, iat: -time.Hour},
		{name: "10 minutes old, maximum age configured to 1m", maxAge: time.Minute, iat: -10 * time.Minute, wantErr: true},
		{name: "in the future within the clock skew", iat: 30 * time.Second},
		{name: "in the future beyond the clock skew (pre-minted)", iat: 2 * time.Minute, wantErr: true},
		{name: "missing", noIat: true, wantErr: true},
	}
	for _, tt := range tests {
		for _, flow := range []string{"login", "refresh"} {
			t.Run(flow+"/"+tt.name, func(t *testing.T) {
				op := newTestOP(t)
				op.set(func(op *testOP) {
					op.idClaims = func(c map[string]any) {
						c["iat"] = op.clock.Now().Add(tt.iat).Unix()
						if tt.noIat {
							delete(c, "iat")
						}
					}
				})
				p, _ := op.newProvider(func(c *Config) { c.MaxTokenAge = tt.maxAge })
				var err error
				if flow == "login" {
					_, _, err = p.Exchange(context.Background(), testCode, op.loginAs(t))
				} else {
					_, _, err = p.Refresh(context.Background(), "refresh-token-1")
				}
				if !tt.wantErr {
					if err != nil {
						t.Fatalf("%s: %v, want success", flow, err)
					}
					return
				}
				if !errors.Is(err, ErrInvalidToken) || !IsSessionEnding(err) {
					t.Fatalf("%s err = %v, want ErrInvalidToken", flow, err)
				}
			})
		}
	}
}
