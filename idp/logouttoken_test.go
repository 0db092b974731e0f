package idp

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestVerifyLogoutToken(t *testing.T) {
	forger := newRSAKey(t)
	tests := []struct {
		name    string
		claims  func(c map[string]any, now time.Time)
		typ     string                                                  // typ header; "" for none
		sign    func(t *testing.T, op *testOP, c map[string]any) string // nil: the OP's key
		raw     string                                                  // used instead when set
		wantErr error                                                   // nil: accepted
	}{
		{name: "valid, typ logout+jwt", typ: "logout+jwt"},
		{name: "valid, typ JWT", typ: "JWT"},
		{name: "valid, no typ"},
		{name: "valid with sid only", claims: func(c map[string]any, _ time.Time) { delete(c, "sub") }},
		{name: "valid with sub only", claims: func(c map[string]any, _ time.Time) { delete(c, "sid") }},
		{name: "valid without exp, recent iat", claims: func(c map[string]any, _ time.Time) { delete(c, "exp") }},
		{name: "valid with aud array", claims: func(c map[string]any, _ time.Time) {
			c["aud"] = []string{testClientID, "other-rp"}
		}},
		{name: "forged signature, same kid", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string {
				return signJWT(t, forger, op.kid, jose.RS256, "logout+jwt", c)
			}},
		{name: "alg none (unsigned token)", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string { return unsignedJWT(t, c) }},
		{name: "HS256 keyed with the client secret (alg confusion)", wantErr: ErrInvalidToken,
			sign: func(t *testing.T, op *testOP, c map[string]any) string {
				return signJWT(t, []byte(testSecret+testSecret+testSecret), op.kid, jose.HS256, "logout+jwt", c)
			}},
		{name: "access token typ (cross-JWT confusion)", typ: "at+jwt", wantErr: ErrInvalidToken},
		{name: "wrong aud (logout meant for another RP)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["aud"] = "other-rp" }},
		{name: "wrong iss", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["iss"] = "https://evil.example.net" }},
		{name: "has nonce (ID token replayed as logout token)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["nonce"] = "n" }},
		{name: "has null nonce", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { c["nonce"] = nil }},
		{name: "no events (ID token replayed as logout token)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "events") }},
		{name: "events without the back-channel member", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) {
				c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
			}},
		{name: "back-channel event not an object", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) {
				c["events"] = map[string]any{BackchannelLogoutEvent: "yes"}
			}},
		{name: "no jti (unreplayable check impossible)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "jti") }},
		{name: "no sub and no sid", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "sub"); delete(c, "sid") }},
		{name: "iat missing", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, _ time.Time) { delete(c, "iat") }},
		{name: "iat in the future", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, now time.Time) { c["iat"] = now.Add(10 * time.Minute).Unix() }},
		{name: "expired", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, now time.Time) { c["exp"] = now.Add(-2 * time.Minute).Unix() }},
		{name: "no exp and old iat (replay of an old token)", wantErr: ErrInvalidToken,
			claims: func(c map[string]any, now time.Time) {
				delete(c, "exp")
				c["iat"] = now.Add(-DefaultMaxTokenAge - 2*time.Minute).Unix()
			}},
		{name: "oversized token", raw: strings.Repeat("a", 20<<10), wantErr: ErrInvalidToken},
		{name: "not a JWT", raw: "not-a-jwt", wantErr: ErrInvalidToken},
		{name: "empty", raw: "", wantErr: ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			p, logs := op.newProvider(nil)
			c := op.goodLogoutClaims()
			if tt.claims != nil {
				tt.claims(c, op.clock.Now())
			}
			raw := tt.raw
			switch {
			case tt.raw != "" || tt.name == "empty":
			case tt.sign != nil:
				raw = tt.sign(t, op, c)
			default:
				raw = signJWT(t, op.key, op.kid, jose.RS256, tt.typ, c)
			}
			lt, err := p.VerifyLogoutToken(context.Background(), raw)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || lt != nil {
					t.Fatalf("VerifyLogoutToken = %v, %v; want %v", lt, err, tt.wantErr)
				}
				if raw != "" && (strings.Contains(err.Error(), raw) || strings.Contains(logs.String(), raw)) {
					t.Error("the logout token appears in the error or the logs")
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyLogoutToken: %v", err)
			}
			if lt.JTI != c["jti"] || lt.Subject != str(c["sub"]) || lt.SID != str(c["sid"]) {
				t.Errorf("logout token = %+v, claims %v", lt, c)
			}
			if !lt.IssuedAt.Equal(op.clock.Now()) || !lt.Expiry.After(lt.IssuedAt) {
				t.Errorf("times: iat %v exp %v", lt.IssuedAt, lt.Expiry)
			}
		})
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func TestLogoutTokenWithoutExpExpiresAfterMaxAge(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	c := op.goodLogoutClaims()
	delete(c, "exp")
	lt, err := p.VerifyLogoutToken(context.Background(), op.sign(c))
	if err != nil {
		t.Fatal(err)
	}
	if want := lt.IssuedAt.Add(DefaultMaxTokenAge); !lt.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want iat + DefaultMaxTokenAge = %v (the jti store's TTL)", lt.Expiry, want)
	}
}

// A stale logout token is refused by its iat even when the IdP gave it a far exp: the
// maximum age, not the sender's exp, bounds how long a captured token can be replayed
// (and so how long its jti must be remembered).
func TestStaleLogoutTokenIsRefusedWhateverItsExp(t *testing.T) {
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
		{name: "older than the maximum age plus skew (replay)", iat: -DefaultMaxTokenAge - 2*time.Minute, wantErr: true},
		{name: "an hour old (replay of a captured token)", iat: -time.Hour, wantErr: true},
		{name: "an hour old, maximum age configured to 2h", maxAge: 2 * time.Hour, iat: -time.Hour},
		{name: "10 minutes old, maximum age configured to 1m", maxAge: time.Minute, iat: -10 * time.Minute, wantErr: true},
		{name: "in the future within the clock skew", iat: 30 * time.Second},
		{name: "in the future beyond the clock skew (pre-minted)", iat: 2 * time.Minute, wantErr: true},
		{name: "missing", noIat: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			p, _ := op.newProvider(func(c *Config) { c.MaxTokenAge = tt.maxAge })
			c := op.goodLogoutClaims()
			now := op.clock.Now()
			c["iat"], c["exp"] = now.Add(tt.iat).Unix(), now.Add(24*time.Hour).Unix()
			if tt.noIat {
				delete(c, "iat")
			}
			lt, err := p.VerifyLogoutToken(context.Background(), op.sign(c))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("VerifyLogoutToken = %+v, %v; want ErrInvalidToken", lt, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyLogoutToken: %v", err)
			}
			maxAge := cmp.Or(tt.maxAge, DefaultMaxTokenAge)
			if want := lt.IssuedAt.Add(maxAge); !lt.Expiry.Equal(want) {
				t.Errorf("Expiry = %v, want iat + maximum age = %v (earlier than exp)", lt.Expiry, want)
			}
		})
	}
}

// The typ header (RFC 7515 §4.1.9: case-insensitive, "application/" optional) must say
// logout+jwt or JWT, or be absent; any other explicit type is another kind of JWT.
func TestLogoutTokenTypHeader(t *testing.T) {
	tests := []struct {
		typ     string
		absent  bool
		wantErr bool
	}{
		{absent: true},
		{typ: "logout+jwt"},
		{typ: "LOGOUT+JWT"},
		{typ: "application/logout+jwt"},
		{typ: "Application/Logout+JWT"},
		{typ: "JWT"},
		{typ: "jwt"},
		{typ: "application/jwt"},
		{typ: "at+jwt", wantErr: true},
		{typ: "application/at+jwt", wantErr: true},
		{typ: "id_token+jwt", wantErr: true},
		{typ: "secevent+jwt", wantErr: true},
		{typ: "JOSE", wantErr: true},
		{typ: "logout+jwt; charset=utf-8", wantErr: true},
		{typ: " logout+jwt", wantErr: true},
		{typ: "application/application/logout+jwt", wantErr: true},
		{typ: "", wantErr: true},
	}
	for _, tt := range tests {
		name := "typ " + strconv.Quote(tt.typ)
		if tt.absent {
			name = "no typ"
		}
		t.Run(name, func(t *testing.T) {
			op := newTestOP(t)
			p, _ := op.newProvider(nil)
			raw := signWithTyp(t, op, op.goodLogoutClaims(), tt.typ, tt.absent)
			_, err := p.VerifyLogoutToken(context.Background(), raw)
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrInvalidToken)) {
				t.Fatalf("VerifyLogoutToken err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// signWithTyp signs claims with the OP's key and exactly the typ header given (even an
// empty one), or none when absent.
func signWithTyp(t *testing.T, op *testOP, claims map[string]any, typ string, absent bool) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if !absent {
		opts = opts.WithHeader(jose.HeaderType, typ)
	}
	return signJWTWith(t, op.key, op.kid, jose.RS256, opts, claims)
}

// An ID token (which has a nonce and no events) must never pass as a logout token.
func TestIDTokenIsNotALogoutToken(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	op.set(func(op *testOP) { op.nonce = "n-1" })
	if _, err := p.VerifyLogoutToken(context.Background(), op.sign(op.goodIDClaims())); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
}
