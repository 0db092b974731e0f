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

// mine is what the browser that started the suite's pending logins offers: its own
// binding among others (a browser may have several logins pending).
var mine = []string{"browser-0", "browser-1"}

func testLoginTakenOnce(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state-1", "browser-1", []byte("pending one"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.PutLogin(ctx, "state-2", "browser-1", []byte("pending two"), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := st.TakeLogin(ctx, "state-1", mine)
	if err != nil || string(got) != "pending one" {
		t.Fatalf("TakeLogin = %q, %v", got, err)
	}
	if _, err := st.TakeLogin(ctx, "state-1", mine); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second TakeLogin (replay) = %v, want ErrNotFound", err)
	}
	if _, err := st.TakeLogin(ctx, "never-stored", mine); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TakeLogin of an unknown key = %v, want ErrNotFound", err)
	}
	if got, err := st.TakeLogin(ctx, "state-2", mine); err != nil || string(got) != "pending two" {
		t.Fatalf("the other pending login: %q, %v", got, err)
	}
}

func testLoginExpires(t *testing.T, newStore newStoreFunc) {
	st, _, advance := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state", "browser-1", []byte("pending"), ms(300)); err != nil {
		t.Fatal(err)
	}
	advance(ms(400))
	if _, err := st.TakeLogin(ctx, "state", mine); !errors.Is(err, ErrNotFound) {
		t.Fatalf("TakeLogin after the ttl = %v, want ErrNotFound", err)
	}
	if err := st.PutLogin(ctx, "state", "browser-1", []byte("pending"), 0); err == nil {
		t.Fatal("PutLogin without a ttl succeeded")
	}
}

// testLoginConcurrentTakes: a callback replayed on several replicas at once completes at
// most one login.
func testLoginConcurrentTakes(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state", "browser-1", []byte("pending"), time.Minute); err != nil {
		t.Fatal(err)
	}
	const takers = 16
	start := make(chan struct{})
	results := make(chan error, takers)
	var wg sync.WaitGroup
	for range takers {
		wg.Go(func() {
			<-start
			_, err := st.TakeLogin(ctx, "state", mine)
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
	if err := st.PutLogin(ctx, state, "browser-1", []byte(secret), time.Minute); err != nil {
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
	fields := rs.client.HGetAll(ctx, rs.loginKey(state)).Val()
	rs.client.HSet(ctx, rs.loginKey("attacker-state"), fields)
	rs.client.Expire(ctx, rs.loginKey("attacker-state"), time.Minute)
	if _, err := st.TakeLogin(ctx, "attacker-state", mine); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnreadable) {
		t.Fatalf("a pending login moved under another key opened: %v", err)
	}
	if err := st.PutLogin(ctx, "big", "browser-1", make([]byte, MaxSealedLogin), time.Minute); err == nil {
		t.Fatal("PutLogin of an oversized value succeeded")
	}
}

// testLoginBoundToItsBrowser: a caller who knows the key (an OAuth state, e.g. from a log)
// but holds another binding gets ErrLoginNotBound and cannot burn the pending login: the
// browser that started it still completes it, once.
func testLoginBoundToItsBrowser(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	if err := st.PutLogin(ctx, "state", "victim", []byte("pending"), time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, offered := range [][]string{{"attacker"}, {"attacker", "victim-not-quite"}, nil} {
		if _, err := st.TakeLogin(ctx, "state", offered); !errors.Is(err, ErrLoginNotBound) {
			t.Fatalf("TakeLogin with bindings %q = %v, want ErrLoginNotBound", offered, err)
		}
	}
	if got, err := st.TakeLogin(ctx, "state", []string{"other-tab", "victim"}); err != nil || string(got) != "pending" {
		t.Fatalf("the victim's own take after the attacker's: %q, %v", got, err)
	}
	if _, err := st.TakeLogin(ctx, "state", []string{"victim"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second take = %v, want ErrNotFound", err)
	}
	if err := st.PutLogin(ctx, "state-2", "", []byte("pending"), time.Minute); err == nil {
		t.Fatal("PutLogin without a binding succeeded")
	}
}
