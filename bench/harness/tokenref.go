package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"

	"golang.org/x/oauth2"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// The reference size of the tokens a session holds. The BFF never lets its tokens out (no
// response, no log line carries them), so the harness cannot read the ones it stores;
// instead it runs the same authorization code flow at the same OP itself, as the bench
// client with the BFF's default scopes and PKCE S256, and measures the token set it gets.
// The demo OP's tokens differ between logins only in random values and timestamps of fixed
// length, so their sizes are those of the sessions' tokens.

// tokenSizes are the lengths of one token set as sent (compact JWS, base64url).
type tokenSizes struct{ access, refresh, id int }

func (t tokenSizes) total() int { return t.access + t.refresh + t.id }

// referenceTokens runs the code flow n times at the OP of issuer, with redirectURI (one of
// the bench client's), and returns each token set's sizes.
func referenceTokens(ctx context.Context, issuer, secret, redirectURI string, n int) ([]tokenSizes, error) {
	ep, err := discoverEndpoints(ctx, issuer)
	if err != nil {
		return nil, err
	}
	cfg := oauth2.Config{
		ClientID: benchClientID, ClientSecret: secret, RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: ep.Authorization, TokenURL: ep.Token, AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   config.Defaults().OIDC.Scopes,
	}
	out := make([]tokenSizes, 0, n)
	for range n {
		t, err := referenceFlow(ctx, &cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// referenceFlow is one login at the OP (a fresh browser) and the code's exchange.
func referenceFlow(ctx context.Context, cfg *oauth2.Config) (tokenSizes, error) {
	state, err := randomString(24)
	if err != nil {
		return tokenSizes{}, err
	}
	nonce, err := randomString(24)
	if err != nil {
		return tokenSizes{}, err
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))
	jar, err := cookiejar.New(nil)
	if err != nil {
		return tokenSizes{}, fmt.Errorf("reference tokens: %w", err)
	}
	cb, err := demoop.LoginHeadless(ctx, &http.Client{Jar: jar, Timeout: httpCheckTimeout}, authURL, benchUser, password(benchUser))
	if err != nil {
		return tokenSizes{}, fmt.Errorf("reference tokens: login: %w", err)
	}
	if cb.Query().Get("state") != state {
		return tokenSizes{}, fmt.Errorf("reference tokens: the callback's state is not ours")
	}
	tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return tokenSizes{}, fmt.Errorf("reference tokens: exchange: %w", err)
	}
	id, _ := tok.Extra("id_token").(string)
	if tok.AccessToken == "" || tok.RefreshToken == "" || id == "" {
		return tokenSizes{}, fmt.Errorf("reference tokens: the OP issued no access, refresh or ID token")
	}
	return tokenSizes{access: len(tok.AccessToken), refresh: len(tok.RefreshToken), id: len(id)}, nil
}

// endpoints are the two discovery fields the code flow needs.
type endpoints struct {
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
}

func discoverEndpoints(ctx context.Context, issuer string) (endpoints, error) {
	body, err := fetch(ctx, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return endpoints{}, fmt.Errorf("reference tokens: discovery: %w", err)
	}
	var ep endpoints
	if err := json.Unmarshal(body, &ep); err != nil || ep.Authorization == "" || ep.Token == "" {
		return endpoints{}, fmt.Errorf("reference tokens: discovery without authorization and token endpoints (%v)", err)
	}
	return ep, nil
}
