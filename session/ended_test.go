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
