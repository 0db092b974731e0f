package idp

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenward/bff/internal/logbuf"
)

const testAccessToken = "access-token-userinfo-7f3a"

// TestUserInfo: the UserInfo answer's claims are taken when it names the session's
// subject and is plain JSON within the size bound; the protocol claims never; anything
// else is refused with the outcome the metrics count, and the log names no token.
func TestUserInfo(t *testing.T) {
	jsonAnswer := func(body map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, body) }
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    map[string]any
		wantErr error
		outcome string
	}{
		{name: "claims taken, protocol claims left out", outcome: UserInfoOK,
			handler: jsonAnswer(map[string]any{
				"sub": "user-42", "name": "Ada King", "groups": []any{"admins"}, "email": nil,
				"iss": "https://evil.example", "aud": "x", "exp": 1, "iat": 1, "nonce": "n", "sid": "s", "acr": "1",
			}),
			want: map[string]any{"name": "Ada King", "groups": []any{"admins"}}},
		{name: "another subject is ignored (OIDC Core 5.3.2)", outcome: UserInfoSubMismatch, wantErr: ErrUserInfoSubject,
			handler: jsonAnswer(map[string]any{"sub": "user-43", "name": "Mallory"})},
		{name: "no sub", outcome: UserInfoError, wantErr: ErrUnavailable,
			handler: jsonAnswer(map[string]any{"name": "Nobody"})},
		{name: "signed answer is unsupported", outcome: UserInfoUnsupported, wantErr: ErrUserInfoUnsupported,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/jwt")
				_, _ = w.Write([]byte("eyJhbGciOiJSUzI1NiJ9.e30.sig"))
			}},
		{name: "not JSON", outcome: UserInfoError, wantErr: ErrUnavailable,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>"))
			}},
		{name: "larger than the bound", outcome: UserInfoError, wantErr: ErrUnavailable,
			handler: jsonAnswer(map[string]any{"sub": "user-42", "name": strings.Repeat("a", MaxUserInfoBytes)})},
		{name: "token refused", outcome: UserInfoError, wantErr: ErrUnavailable,
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			var auth, accept string
			op.set(func(op *testOP) {
				op.meta["userinfo_endpoint"] = op.issuer + "/userinfo"
				op.userinfo = func(w http.ResponseWriter, r *http.Request) {
					auth, accept = r.Header.Get("Authorization"), r.Header.Get("Accept")
					tt.handler(w, r)
				}
			})
			var outcomes []string
			p, logs := op.newProvider(func(c *Config) {
				c.UserInfo = true
				c.ObserveUserInfo = func(o string) { outcomes = append(outcomes, o) }
			})
			got, err := p.UserInfo(context.Background(), &Tokens{AccessToken: testAccessToken}, "user-42")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("UserInfo err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("claims = %v, want %v", got, tt.want)
			}
			if len(outcomes) != 1 || outcomes[0] != tt.outcome {
				t.Fatalf("outcomes %v, want [%s]", outcomes, tt.outcome)
			}
			if auth != "Bearer "+testAccessToken || accept != "application/json" {
				t.Fatalf("request Authorization %q Accept %q", auth, accept)
			}
			if strings.Contains(logs.String(), testAccessToken) || (err != nil && strings.Contains(err.Error(), testAccessToken)) {
				t.Fatal("the access token reached a log line or an error")
			}
		})
	}
}

// TestUserInfoOffFetchesNothing: without Config.UserInfo no request leaves and no claims
// come back (the providers that do not turn it on see no new traffic).
func TestUserInfoOffFetchesNothing(t *testing.T) {
	op := newTestOP(t)
	called := false
	op.set(func(op *testOP) {
		op.meta["userinfo_endpoint"] = op.issuer + "/userinfo"
		op.userinfo = func(http.ResponseWriter, *http.Request) { called = true }
	})
	p, _ := op.newProvider(nil)
	got, err := p.UserInfo(context.Background(), &Tokens{AccessToken: testAccessToken}, "user-42")
	if got != nil || err != nil || called {
		t.Fatalf("UserInfo with the option off = %v, %v (called %v), want nothing", got, err, called)
	}
}

// TestUserInfoNeedsTheEndpoint: with Config.UserInfo a provider without userinfo_endpoint
// fails discovery as misconfigured, and the message names the setting.
func TestUserInfoNeedsTheEndpoint(t *testing.T) {
	op := newTestOP(t)
	cfg := op.testConfig(&logbuf.Buffer{})
	cfg.UserInfo = true
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Discover(context.Background())
	if !errors.Is(err, ErrMisconfigured) || !strings.Contains(err.Error(), "oidc.userInfo") {
		t.Fatalf("Discover = %v, want a misconfiguration naming oidc.userInfo", err)
	}
}

// TestWithUserInfoKeepsClaimsOnFailure: a failed fetch keeps the claims as they were, a
// good one lays its claims over them, and a source without UserInfo changes nothing.
func TestWithUserInfoKeepsClaimsOnFailure(t *testing.T) {
	old := map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}
	ok := fakeUserInfo{claims: map[string]any{"name": "Ada King"}}
	got := WithUserInfo(context.Background(), ok, &Tokens{}, "user-42", old)
	if got["name"] != "Ada King" || got["email"] != "ada@example.com" || old["name"] != "Ada Lovelace" {
		t.Fatalf("merged %v (old %v), want the new name over the kept email, old untouched", got, old)
	}
	failed := fakeUserInfo{err: ErrUserInfoSubject, claims: map[string]any{"name": "Mallory"}}
	if got := WithUserInfo(context.Background(), failed, &Tokens{}, "user-42", old); got["name"] != "Ada Lovelace" {
		t.Fatalf("after a failed fetch %v, want the old claims", got)
	}
	if got := WithUserInfo(context.Background(), struct{}{}, &Tokens{}, "user-42", old); got["name"] != "Ada Lovelace" {
		t.Fatalf("without a source %v, want the old claims", got)
	}
}

type fakeUserInfo struct {
	claims map[string]any
	err    error
}

func (f fakeUserInfo) UserInfo(context.Context, *Tokens, string) (map[string]any, error) {
	return f.claims, f.err
}
