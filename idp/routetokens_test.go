package idp

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestRefreshForSendsResourceAndScope: the refresh grant carries resource (RFC 8707) and
// scope, with the client's authentication, and the rotated refresh token comes back.
func TestRefreshForSendsResourceAndScope(t *testing.T) {
	op := newTestOP(t)
	p, _ := op.newProvider(nil)
	tok, err := p.RefreshFor(context.Background(), "refresh-token-1", "https://orders.example.com/", []string{"orders:read", "orders:write"})
	if err != nil {
		t.Fatalf("RefreshFor: %v", err)
	}
	if tok.AccessToken != "access-token-1" || tok.RefreshToken != "refresh-token-2" || tok.IDToken != "" {
		t.Errorf("tokens: at %q rt %q idt set %v", tok.AccessToken, tok.RefreshToken, tok.IDToken != "")
	}
	reqs := op.tokenRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	f := reqs[0].Form
	if f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "refresh-token-1" ||
		f.Get("resource") != "https://orders.example.com/" || f.Get("scope") != "orders:read orders:write" {
		t.Errorf("form = %v", f)
	}
	if reqs[0].Authorization == "" {
		t.Error("no client authentication on the resource grant")
	}
}

// TestExchangeTokenSendsRFC8693Request: the exchange request has the RFC 8693 grant,
// subject token and types, and the requested audience, scope and resource; the answer's
// refresh token is dropped.
func TestExchangeTokenSendsRFC8693Request(t *testing.T) {
	op := newTestOP(t)
	op.set(func(op *testOP) {
		op.noIDToken = true
		op.extraResp = map[string]any{"issued_token_type": TokenTypeAccessToken}
	})
	p, _ := op.newProvider(nil)
	tok, err := p.ExchangeToken(context.Background(), "subject-at", "orders-api", "orders:read", "https://orders.example.com/")
	if err != nil {
		t.Fatalf("ExchangeToken: %v", err)
	}
	if tok.AccessToken != "access-token-1" || tok.RefreshToken != "" || tok.TokenType != "Bearer" {
		t.Errorf("tokens: at %q rt %q type %q", tok.AccessToken, tok.RefreshToken, tok.TokenType)
	}
	f := op.tokenRequests()[0].Form
	want := map[string]string{
		"grant_type": GrantTypeTokenExchange, "subject_token": "subject-at",
		"subject_token_type": TokenTypeAccessToken, "requested_token_type": TokenTypeAccessToken,
		"audience": "orders-api", "scope": "orders:read", "resource": "https://orders.example.com/",
	}
	for k, v := range want {
		if f.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, f.Get(k), v)
		}
	}
	if f.Has("refresh_token") {
		t.Error("the exchange sent a refresh token")
	}
}

// TestRouteTokenRefusals: answers that refuse the target, or are not what was asked for,
// are ErrTargetRefused (the session is fine); a dead refresh token on the resource grant
// stays ErrInvalidGrant (the session ends); a 5xx stays ErrUnavailable.
func TestRouteTokenRefusals(t *testing.T) {
	oauthErr := func(status int, code string) func(op *testOP) {
		return func(op *testOP) {
			op.token = func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, status, map[string]any{"error": code}) }
		}
	}
	answer := func(resp map[string]any) func(op *testOP) {
		return func(op *testOP) {
			op.token = func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, resp) }
		}
	}
	for _, tt := range []struct {
		name     string
		exchange bool
		setup    func(op *testOP)
		want     error
		refused  bool
	}{
		{name: "resource invalid_target", setup: oauthErr(400, "invalid_target"), want: ErrTargetRefused, refused: true},
		{name: "resource invalid_scope", setup: oauthErr(400, "invalid_scope"), want: ErrTargetRefused, refused: true},
		{name: "resource invalid_grant ends the session", setup: oauthErr(400, "invalid_grant"), want: ErrInvalidGrant},
		{name: "resource 503", setup: oauthErr(503, ""), want: ErrUnavailable},
		{name: "exchange invalid_grant", exchange: true, setup: oauthErr(400, "invalid_grant"), want: ErrTargetRefused, refused: true},
		{name: "exchange unsupported", exchange: true, setup: oauthErr(400, "unsupported_grant_type"), want: ErrTargetRefused, refused: true},
		{name: "exchange without issued_token_type", exchange: true, want: ErrTargetRefused, refused: true,
			setup: answer(map[string]any{"access_token": "x", "token_type": "Bearer", "expires_in": 60})},
		{name: "exchange issuing an ID token", exchange: true, want: ErrTargetRefused, refused: true,
			setup: answer(map[string]any{"access_token": "x", "token_type": "N_A", "issued_token_type": "urn:ietf:params:oauth:token-type:id_token"})},
		{name: "exchange issuing a DPoP token", exchange: true, want: ErrTokenType,
			setup: answer(map[string]any{"access_token": "x", "token_type": "DPoP", "issued_token_type": TokenTypeAccessToken})},
		{name: "exchange 503", exchange: true, setup: oauthErr(503, ""), want: ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op := newTestOP(t)
			op.set(tt.setup)
			p, _ := op.newProvider(nil)
			var err error
			if tt.exchange {
				_, err = p.ExchangeToken(context.Background(), "subject-at", "orders-api", "", "")
			} else {
				_, err = p.RefreshFor(context.Background(), "refresh-token-1", "urn:orders", nil)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrTargetRefused) != tt.refused {
				t.Errorf("ErrTargetRefused = %v, want %v (err %v)", !tt.refused, tt.refused, err)
			}
		})
	}
}

// TestRefreshForKeepsAnUnboundAnswerUnderDPoP: with DPoP on, a resource grant answered
// Bearer has spent the refresh token: the answer is kept, typed Bearer (the caller must
// not send it for a DPoP session), with the rotated refresh token; a type that is neither
// DPoP nor Bearer stays an error (ErrTokenType).
func TestRefreshForKeepsAnUnboundAnswerUnderDPoP(t *testing.T) {
	for _, tt := range []struct{ typ, want string }{{"Bearer", "Bearer"}, {"bearer", "Bearer"}, {"MAC", ""}} {
		op := newTestOP(t)
		var proof string
		op.set(func(op *testOP) {
			op.token = func(w http.ResponseWriter, r *http.Request) {
				proof = r.Header.Get("DPoP")
				writeJSON(w, http.StatusOK, map[string]any{"access_token": "unbound", "token_type": tt.typ, "refresh_token": "refresh-token-2", "expires_in": 60})
			}
		})
		p, _ := op.newProvider(dpopOn)
		raw, err := p.NewDPoPKey()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := p.RefreshFor(WithDPoPKey(context.Background(), raw), "refresh-token-1", "urn:orders", nil)
		if tt.want == "" {
			if !errors.Is(err, ErrTokenType) || tok != nil {
				t.Errorf("%s: %v, %v; want ErrTokenType", tt.typ, tok, err)
			}
			continue
		}
		if err != nil || tok.TokenType != tt.want || tok.RefreshToken != "refresh-token-2" || tok.AccessToken != "unbound" {
			t.Errorf("%s: err %v, tokens %+v; want type %s with the rotated refresh token", tt.typ, err, tok, tt.want)
		}
		if proof == "" {
			t.Errorf("%s: the resource grant carried no proof", tt.typ)
		}
	}
}
