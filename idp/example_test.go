package idp_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/tokenward/bff/idp"
)

// The relying party's whole life, as the handlers drive it. Compiled, not run: it
// needs a real provider.
func Example() {
	ctx := context.Background()
	p, err := idp.New(idp.Config{
		Issuer:                "https://idp.example.com",
		ClientID:              "spa",
		ClientSecret:          "from-a-secret-file",
		RedirectURL:           "https://app.example.com/bff/callback",
		PostLogoutRedirectURL: "https://app.example.com/",
		AuthParams:            []string{"prompt", "login_hint"},
	})
	if err != nil {
		panic(err)
	}
	p.Start(ctx) // background discovery; /readyz reports p.Ready()

	// GET /bff/login: seal ar in the login cookie, redirect to the provider.
	ar, _ := idp.NewAuthRequest()
	authorize, err := p.AuthCodeURL(ar, url.Values{"prompt": {"login"}})
	if errors.Is(err, idp.ErrNotReady) {
		return // 503 idp_unavailable
	}
	fmt.Println(authorize)

	// GET /bff/callback?code=…&state=…&iss=…: ar comes back from the cookie.
	callback := url.Values{}
	if !ar.MatchesState(callback.Get("state")) || p.CheckIssuer(callback.Get("iss")) != nil {
		return // 400: forged or mixed-up response; never redeem the code
	}
	tokens, who, err := p.Exchange(ctx, callback.Get("code"), ar)
	if err != nil {
		return // ErrInvalidGrant / ErrInvalidToken: login failed; ErrUnavailable: 503
	}
	fmt.Println(who.Subject, tokens.Expiry.After(time.Now()))

	// Before proxying, when the access token is about to expire (single-flighted):
	fresh, again, err := p.Refresh(ctx, tokens.RefreshToken)
	switch {
	case idp.IsSessionEnding(err):
		return // delete the session, 401 session_expired
	case err != nil:
		return // keep the session, 503 (use the old token while it lasts)
	case again != nil && again.Subject != who.Subject:
		return // the provider switched users: end the session
	}
	tokens = fresh

	// POST /bff/logout:
	_ = p.Revoke(ctx, tokens.RefreshToken) // best effort
	if endSession, ok := p.EndSessionURL(tokens.IDToken, ""); ok {
		fmt.Println(endSession)
	}

	// POST /bff/backchannel-logout: verify, refuse a seen JTI, end SID's (or Subject's) sessions.
	if lt, err := p.VerifyLogoutToken(ctx, "logout_token form value"); err == nil {
		fmt.Println(lt.SID, lt.Subject, lt.JTI, lt.Expiry)
	}
}
