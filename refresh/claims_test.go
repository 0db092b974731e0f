package refresh

import (
	"context"
	"testing"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// TestRefreshedIDTokenClaimsReplaceTheLogins: /bff/user must show what the provider says
// now: a refreshed ID token's profile claims replace the login's, the claims it leaves
// out are kept.
func TestRefreshedIDTokenClaimsReplaceTheLogins(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{sub: "alice", claims: map[string]any{"name": "Ada King"}}
	r := newRefresher(t, st, f, 0)
	id, rec := expiredSession(t, st)
	rec.Claims = map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"}
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.Fresh(t.Context(), id, rec, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*session.Record{got, mustGet(t, st, id)} {
		if r.Claims["name"] != "Ada King" || r.Claims["email"] != "ada@example.com" {
			t.Fatalf("claims after the refresh %v, want the new name and the kept email", r.Claims)
		}
	}
}

func mustGet(t *testing.T, st session.Store, id string) *session.Record {
	t.Helper()
	rec, err := st.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// userInfoIdP is a provider that also answers UserInfo (as *idp.Provider does with
// oidc.userInfo): claims, or err.
type userInfoIdP struct {
	*fakeIdP
	claims  map[string]any
	err     error
	gotSub  string
	gotAcc  string
	fetches int
}

func (u *userInfoIdP) UserInfo(_ context.Context, toks *idp.Tokens, sub string) (map[string]any, error) {
	u.fetches++
	u.gotSub, u.gotAcc = sub, toks.AccessToken
	return u.claims, u.err
}

// TestRefreshTakesUserInfoClaims: after a refresh the provider's UserInfo claims, fetched
// with the NEW access token for the session's subject, lie over the ID token's; a failed
// fetch fails no refresh and keeps the claims the session had.
func TestRefreshTakesUserInfoClaims(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		wantName string
	}{
		{name: "taken", wantName: "Augusta Ada King"},
		{name: "failed fetch keeps the claims", err: idp.ErrUserInfoSubject, wantName: "Ada King"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			f := &userInfoIdP{fakeIdP: &fakeIdP{sub: "alice", claims: map[string]any{"name": "Ada King"}},
				claims: map[string]any{"name": "Augusta Ada King", "locale": "en-GB"}, err: tc.err}
			r, err := New(Config{Store: st, IdP: f})
			if err != nil {
				t.Fatal(err)
			}
			id, rec := expiredSession(t, st)
			got, err := r.Fresh(t.Context(), id, rec, false)
			if err != nil {
				t.Fatalf("the refresh failed: %v", err)
			}
			if f.fetches != 1 || f.gotSub != "alice" || f.gotAcc != got.AccessToken || got.AccessToken == "at-old" {
				t.Fatalf("UserInfo fetched %d times for %q with the new token %v, want once for alice", f.fetches, f.gotSub, f.gotAcc == got.AccessToken)
			}
			for _, r := range []*session.Record{got, mustGet(t, st, id)} {
				if r.Claims["name"] != tc.wantName {
					t.Fatalf("claims after the refresh %v, want name %q", r.Claims, tc.wantName)
				}
			}
		})
	}
}
