package refresh

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/tokenward/bff/session"
)

// providerSession stores an expired session of provider.
func providerSession(t *testing.T, st session.Store, provider string) (string, *session.Record) {
	t.Helper()
	id, rec := expiredSession(t, st)
	rec.Provider = provider
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	return id, rec
}

// TestRefreshGoesToTheSessionsProvider: a record of b is refreshed at b only; an unnamed
// record (made before oidc.providers) at the default the assembly maps to ""; a record of
// a provider not configured ends without any provider being called.
func TestRefreshGoesToTheSessionsProvider(t *testing.T) {
	st := newStore(t)
	a, b := &fakeIdP{}, &fakeIdP{}
	r, err := New(Config{Store: st, IdPs: map[string]TokenRefresher{"": a, "a": a, "b": b}})
	if err != nil {
		t.Fatal(err)
	}
	id, rec := providerSession(t, st, "b")
	if _, err := r.Fresh(t.Context(), id, rec, false); err != nil || b.calls.Load() != 1 || a.calls.Load() != 0 {
		t.Fatalf("b's session: %v; calls a %d b %d", err, a.calls.Load(), b.calls.Load())
	}
	id, rec = providerSession(t, st, "")
	if _, err := r.Fresh(t.Context(), id, rec, false); err != nil || a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Fatalf("unnamed session: %v; calls a %d b %d", err, a.calls.Load(), b.calls.Load())
	}
	id, rec = providerSession(t, st, "gone")
	_, err = r.Fresh(t.Context(), id, rec, false)
	if !errors.Is(err, ErrSessionEnded) || !errors.Is(err, ErrUnknownProvider) || a.calls.Load()+b.calls.Load() != 2 {
		t.Fatalf("removed provider's session: %v; calls a %d b %d", err, a.calls.Load(), b.calls.Load())
	}
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session of a removed provider survived: %v", err)
	}
}

// TestUnnamedRecordOfAnotherIssuerIsNotRefreshed: with oidc.providers, a record made
// before the list (Provider "") is refreshed at the default only when its ID token names
// the default's issuer; one of another issuer ends, its refresh token sent nowhere.
func TestUnnamedRecordOfAnotherIssuerIsNotRefreshed(t *testing.T) {
	st := newStore(t)
	a := &fakeIdP{}
	r, err := New(Config{Store: st, IdPs: map[string]TokenRefresher{"": a, "a": a}, DefaultIssuer: "https://a.example"})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	idToken := func(iss string) string { return enc([]byte(`{}`)) + "." + enc([]byte(`{"iss":"`+iss+`"}`)) + ".sig" }

	id, rec := providerSession(t, st, "")
	rec.IDToken = idToken("https://a.example")
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Fresh(t.Context(), id, rec, false); err != nil || a.calls.Load() != 1 {
		t.Fatalf("the default's unnamed session: %v, %d calls", err, a.calls.Load())
	}
	id, rec = providerSession(t, st, "")
	rec.IDToken = idToken("https://old-idp.example")
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	_, err = r.Fresh(t.Context(), id, rec, false)
	if !errors.Is(err, ErrSessionEnded) || a.calls.Load() != 1 {
		t.Fatalf("another issuer's unnamed session: %v, %d calls (want ended, no call)", err, a.calls.Load())
	}
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the session survived: %v", err)
	}
}
