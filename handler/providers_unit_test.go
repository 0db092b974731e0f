package handler

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// newProvidersUnit is newUnit with two named providers, a (the default, u.idp) and b.
func newProvidersUnit(t *testing.T) (*unit, *fakeProvider) {
	t.Helper()
	u := newUnit(t, asIs, nil)
	b := &fakeProvider{}
	h, err := New(u.h.cfg, Deps{
		IdPs:       []NamedProvider{{Name: "a", Issuer: "https://a.example", IdP: u.idp}, {Name: "b", Issuer: "https://b.example", IdP: b}},
		DefaultIdP: "a", Store: u.store, Keys: u.keys, Refresher: asIs, CSRF: u.h.d.CSRF,
		Metrics: u.rec, OnEnd: func(hs []string) { u.ended = append(u.ended, hs) },
	})
	if err != nil {
		t.Fatal(err)
	}
	u.h = h
	u.e = echo.New()
	h.Mount(u.e)
	return u, b
}

// TestLoginUnknownProviderListsTheNames: ?idp= naming no provider is 400 problem+json
// that lists the configured names and does not echo the given one.
func TestLoginUnknownProviderListsTheNames(t *testing.T) {
	u, _ := newProvidersUnit(t)
	r := httptest.NewRequest(http.MethodGet, "https://app.example/bff/login?idp=%3Cevil%3E", nil)
	r.Header.Set("Accept", "application/json")
	w := u.serve(r)
	body := w.Body.String()
	if w.Code != http.StatusBadRequest || !strings.Contains(body, "a, b") || strings.Contains(body, "evil") {
		t.Fatalf("got %d %q", w.Code, body)
	}
}

// TestSessionOfARemovedProviderEnds: a record whose provider is not configured ends at
// its next use (deleted, its streams cut, 401), its token never handed out.
func TestSessionOfARemovedProviderEnds(t *testing.T) {
	u, _ := newProvidersUnit(t)
	id, ck := u.session(t, func(r *session.Record) { r.Provider = "gone" })
	r := httptest.NewRequest(http.MethodGet, "https://app.example/bff/user", nil)
	r.Header.Set("X-CSRF", "1")
	r.AddCookie(ck)
	if w := u.serve(r); w.Code != http.StatusUnauthorized {
		t.Fatalf("user: %d %s", w.Code, w.Body)
	}
	if _, err := u.store.Get(context.Background(), id); err == nil {
		t.Fatal("the record of a removed provider was kept")
	}
	if len(u.ended) != 1 || u.rec.count("ended:provider_removed") != 1 {
		t.Fatalf("ended %v, counted %d", u.ended, u.rec.count("ended:provider_removed"))
	}
}

// TestLogoutFollowsTheSessionsProvider: revocation and the end-session URL are b's for a
// session of b.
func TestLogoutFollowsTheSessionsProvider(t *testing.T) {
	u, b := newProvidersUnit(t)
	_, ck := u.session(t, func(r *session.Record) { r.Provider = "b"; r.RefreshToken = "rt-of-b" })
	r := httptest.NewRequest(http.MethodPost, "https://app.example/bff/logout", nil)
	r.Header.Set("X-CSRF", "1")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(ck)
	if w := u.serve(r); w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if len(b.revoked) != 1 || b.revoked[0] != "rt-of-b" || len(u.idp.revoked) != 0 {
		t.Fatalf("revoked at b %v, at a %v", b.revoked, u.idp.revoked)
	}
}

// TestBackchannelOfTheDefaultReachesUnnamedRecords: the default provider's logout token
// ends its named sessions and the records made before the list existed (Provider ""),
// never b's session of the same sub and sid; b's token ends only b's.
func TestBackchannelOfTheDefaultReachesUnnamedRecords(t *testing.T) {
	u, b := newProvidersUnit(t)
	lt := func(string) (*idp.LogoutToken, error) {
		return &idp.LogoutToken{Subject: "alice", SID: "op-sid", JTI: session.NewLogoutHandle()}, nil
	}
	u.idp.verify, b.verify = lt, lt
	named, _ := u.session(t, func(r *session.Record) { r.Provider = "a" })
	legacy, _ := u.session(t, nil)
	atB, _ := u.session(t, func(r *session.Record) { r.Provider = "b" })
	post := func(query string) int {
		r := httptest.NewRequest(http.MethodPost, "https://app.example/bff/backchannel-logout"+query,
			strings.NewReader(url.Values{"logout_token": {"x.y.z"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return u.serve(r).Code
	}
	if c := post("?idp=a"); c != http.StatusOK {
		t.Fatalf("logout at a: %d", c)
	}
	alive := func(id string) bool { _, err := u.store.Get(context.Background(), id); return err == nil }
	if alive(named) || alive(legacy) || !alive(atB) {
		t.Fatalf("after a's logout: a's %v, unnamed %v, b's %v (want false false true)", alive(named), alive(legacy), alive(atB))
	}
	if c := post("?idp=b"); c != http.StatusOK || alive(atB) {
		t.Fatalf("logout at b: %d, b's alive %v", c, alive(atB))
	}
	if c := post("?idp=zz"); c != http.StatusBadRequest {
		t.Fatalf("unknown idp: %d", c)
	}
}

// TestBackchannelOfTheDefaultNeverReachesAnotherProviderByABareKey: the default
// provider a names sub "b:alice" and sid "b:op-sid" (username-style values): its logout must
// not end provider b's alice, whose index keys are exactly those strings.
func TestBackchannelOfTheDefaultNeverReachesAnotherProviderByABareKey(t *testing.T) {
	for _, tc := range []struct{ sub, sid string }{{"b:alice", "b:op-sid"}, {"b:alice", ""}, {"x", "b:op-sid"}} {
		u, _ := newProvidersUnit(t)
		u.idp.verify = func(string) (*idp.LogoutToken, error) {
			return &idp.LogoutToken{Subject: tc.sub, SID: tc.sid, JTI: session.NewLogoutHandle()}, nil
		}
		atB, _ := u.session(t, func(r *session.Record) { r.Provider = "b"; r.Subject = "alice"; r.SID = "op-sid" })
		r := httptest.NewRequest(http.MethodPost, "https://app.example/bff/backchannel-logout?idp=a",
			strings.NewReader(url.Values{"logout_token": {"x.y.z"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c := u.serve(r).Code; c != http.StatusOK {
			t.Fatalf("%+v: logout at a: %d", tc, c)
		}
		if _, err := u.store.Get(context.Background(), atB); err != nil {
			t.Fatalf("%+v: a's logout ended b's alice", tc)
		}
	}
}

// idTokenOf is an ID token of iss as a record stores it (verified when it was stored; only
// its iss matters here).
func idTokenOf(iss string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"iss":"`+iss+`","sub":"alice"}`)) + ".sig"
}

// TestUnnamedRecordOfAnotherIssuerEnds: a record made before oidc.providers (Provider "")
// is the default provider's only when its ID token names the default's issuer; one from
// another issuer (the operator made another provider the default) ends at its next use,
// counted provider_removed, and its refresh token is never revoked at (sent to) the
// default; one without a readable ID token ends too.
func TestUnnamedRecordOfAnotherIssuerEnds(t *testing.T) {
	for _, tc := range []struct {
		name, idToken string
		live          bool
	}{
		{name: "the default's issuer", idToken: idTokenOf("https://a.example"), live: true},
		{name: "another issuer", idToken: idTokenOf("https://old-idp.example")},
		{name: "no ID token", idToken: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := newProvidersUnit(t)
			id, ck := u.session(t, func(r *session.Record) { r.IDToken = tc.idToken })
			r := httptest.NewRequest(http.MethodPost, "https://app.example/bff/logout", nil)
			r.Header.Set("X-CSRF", "1")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.AddCookie(ck)
			w := u.serve(r)
			_, err := u.store.Get(context.Background(), id)
			if tc.live {
				if w.Code != http.StatusOK || len(u.idp.revoked) != 1 {
					t.Fatalf("logout of the default's record: %d, revoked %d", w.Code, len(u.idp.revoked))
				}
				return
			}
			if w.Code == http.StatusInternalServerError || err == nil || len(u.idp.revoked) != 0 {
				t.Fatalf("logout: %d, record kept %v, revoked at the default %d: want it ended, nothing sent", w.Code, err == nil, len(u.idp.revoked))
			}
			if u.rec.count("ended:provider_removed") != 1 {
				t.Fatalf("counted provider_removed %d times, want 1", u.rec.count("ended:provider_removed"))
			}
		})
	}
}
