package refresh

import (
	"testing"

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
