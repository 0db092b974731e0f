package session

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// testPublishEnded: an ended-session announcement reaches a watcher (another replica
// subscribes to the same store), and foreign payloads are ignored.
func testPublishEnded(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var got []string
	st.WatchEnded(ctx, func(h string) {
		mu.Lock()
		got = append(got, h)
		mu.Unlock()
	})
	want := []string{IDHash("one"), IDHash("two")}
	deadline := time.Now().Add(3 * time.Second)
	for {
		// The watcher subscribes asynchronously: publish until it has heard.
		if err := st.PublishEnded(ctx, want); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		n := slices.Clone(got)
		mu.Unlock()
		if len(n) >= 2 {
			if !slices.Contains(n, want[0]) || !slices.Contains(n, want[1]) {
				t.Fatalf("watcher heard %v, want %v", n, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher heard %v within 3s, want %v", n, want)
		}
	}
}

// testTouch: Touch keeps a record alive like Get, and reports a deleted or absolutely
// expired record as gone.
func testTouch(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	rec := &Record{Subject: "s", AccessToken: "at", Created: clock.Now(), AbsoluteExpiry: clock.Now().Add(4 * suiteIdle)}
	if err := st.Save(ctx, "touched", rec); err != nil {
		t.Fatal(err)
	}
	h := IDHash("touched")
	for i := 0; i < 6; i++ { // 6 × 0.6 idle = 3.6: alive only because Touch slides the TTL
		advance(suiteIdle * 6 / 10)
		if ok, err := st.Touch(ctx, h); err != nil || !ok {
			t.Fatalf("touch %d: %v %v, want live", i, ok, err)
		}
	}
	advance(suiteIdle * 6 / 10) // 4.2 idle: past the absolute expiry, within the idle TTL
	if ok, err := st.Touch(ctx, h); err != nil || ok {
		t.Fatalf("after the absolute expiry: %v %v, want gone", ok, err)
	}
	if ok, err := st.Touch(ctx, IDHash("never")); err != nil || ok {
		t.Fatalf("unknown: %v %v, want gone", ok, err)
	}
}
