package session

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// The pending-login part of the store contract (PutLogin/TakeLogin), run by
// runStoreSuite on every backend.

func testLoginTakenOnce(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state-1", []byte("pending one"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.PutLogin(ctx, "state-2", []byte("pending two"), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := st.TakeLogin(ctx, "state-1")
	if err != nil || string(got) != "pending one" {
		t.Fatalf("TakeLogin = %q, %v", got, err)
	}
	if _, err := st.TakeLogin(ctx, "state-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second TakeLogin (replay) = %v, want ErrNotFound", err)
	}
	if _, err := st.TakeLogin(ctx, "never-stored"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TakeLogin of an unknown key = %v, want ErrNotFound", err)
	}
	if got, err := st.TakeLogin(ctx, "state-2"); err != nil || string(got) != "pending two" {
		t.Fatalf("the other pending login: %q, %v", got, err)
	}
}

func testLoginExpires(t *testing.T, newStore newStoreFunc) {
	st, _, advance := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state", []byte("pending"), ms(300)); err != nil {
		t.Fatal(err)
	}
	advance(ms(400))
	if _, err := st.TakeLogin(ctx, "state"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TakeLogin after the ttl = %v, want ErrNotFound", err)
	}
	if err := st.PutLogin(ctx, "state", []byte("pending"), 0); err == nil {
		t.Fatal("PutLogin without a ttl succeeded")
	}
}

// testLoginConcurrentTakes: a callback replayed on several replicas at once completes at
// most one login.
func testLoginConcurrentTakes(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state", []byte("pending"), time.Minute); err != nil {
		t.Fatal(err)
	}
	const takers = 16
	start := make(chan struct{})
	results := make(chan error, takers)
	var wg sync.WaitGroup
	for range takers {
		wg.Go(func() {
			<-start
			_, err := st.TakeLogin(ctx, "state")
			results <- err
		})
	}
	close(start)
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrNotFound):
			t.Errorf("TakeLogin: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent takes got the pending login, want exactly 1", won)
	}
}

func testLoginSealed(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	const state, secret = "state-in-clear", "verifier-and-return-path"
	if err := st.PutLogin(ctx, state, []byte(secret), time.Minute); err != nil {
		t.Fatal(err)
	}
	dump := dumpStore(t, rs)
	if !strings.Contains(dump, IDHash(state)) {
		t.Fatalf("dump does not hold the pending login at all:\n%s", dump)
	}
	for what, s := range map[string]string{"key": state, "value": secret} {
		if strings.Contains(dump, s) {
			t.Errorf("store dump contains the pending login's %s in clear", what)
		}
	}
	// Moved under another key (an attacker with write access to the store), it does not open.
	raw := rs.client.Get(ctx, rs.loginKey(state)).Val()
	rs.client.Set(ctx, rs.loginKey("attacker-state"), raw, time.Minute)
	if _, err := st.TakeLogin(ctx, "attacker-state"); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnreadable) {
		t.Fatalf("a pending login moved under another key opened: %v", err)
	}
	if err := st.PutLogin(ctx, "big", make([]byte, MaxSealedLogin), time.Minute); err == nil {
		t.Fatal("PutLogin of an oversized value succeeded")
	}
}
