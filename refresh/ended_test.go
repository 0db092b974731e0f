package refresh

import (
	"errors"
	"testing"
	"time"

	"github.com/tokenward/bff/session"
)

// TestLogoutDuringRefreshIsNotUndone: the user logs out while the IdP is answering a
// refresh. The refreshed record must not be written back: the session stays ended, and
// the request that waited gets 401 session_expired, not the new token.
func TestLogoutDuringRefreshIsNotUndone(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{gate: make(chan struct{})}
	var outcomes []string
	r, err := New(Config{Store: st, IdP: f, Observe: func(o string) { outcomes = append(outcomes, o) }})
	if err != nil {
		t.Fatal(err)
	}
	id, rec := expiredSession(t, st)
	done := make(chan error, 1)
	go func() {
		_, err := r.Fresh(t.Context(), id, rec, false)
		done <- err
	}()
	waitFor(t, func() bool { return f.calls.Load() == 1 }) // the IdP call is under way
	if err := st.Delete(t.Context(), id); err != nil {     // the logout
		t.Fatal(err)
	}
	close(f.gate)
	err = <-done
	if !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("Fresh = %v, want 401 session_expired", err)
	}
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Get after logout + refresh = %v, want ErrNotFound: the refresh brought the session back", err)
	}
	if len(outcomes) != 1 || outcomes[0] != "ended" {
		t.Fatalf("outcomes %v, want [ended]", outcomes)
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
