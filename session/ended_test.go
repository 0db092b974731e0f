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
	st.Watch(ctx, func(ev Event) {
		if ev.Kind != EventEnded {
			return
		}
		mu.Lock()
		got = append(got, ev.IDHash)
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

// testPublishRefreshed: every subscription begins with EventResubscribed (what came
// before it may be lost), and a refreshed announcement reaches a watcher as
// EventRefreshed, never as an end (a replica must not cut a refreshed session's streams).
func testPublishRefreshed(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan Event, 64)
	st.Watch(ctx, func(ev Event) { events <- ev })
	select {
	case ev := <-events:
		if ev.Kind != EventResubscribed || ev.IDHash != "" {
			t.Fatalf("first event %+v, want EventResubscribed without an id hash", ev)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no EventResubscribed within 3s")
	}
	h := IDHash("refreshed")
	if err := st.PublishRefreshed(ctx, []string{h}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev != (Event{Kind: EventRefreshed, IDHash: h}) {
			t.Fatalf("heard %+v, want EventRefreshed of %s", ev, h)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the refreshed announcement was not heard within 3s")
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

// testTouchMany: TouchMany slides each record like Touch and reports each one's end, in
// the order asked.
func testTouchMany(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	if live, err := st.TouchMany(ctx, nil); err != nil || len(live) != 0 {
		t.Fatalf("no hashes: %v %v", live, err)
	}
	short := &Record{Subject: "s", AccessToken: "at", Created: clock.Now(), AbsoluteExpiry: clock.Now().Add(2 * suiteIdle)}
	long := &Record{Subject: "s", AccessToken: "at", Created: clock.Now(), AbsoluteExpiry: clock.Now().Add(4 * suiteIdle)}
	for id, rec := range map[string]*Record{"short": short, "long": long, "ended": long} {
		if err := st.Save(ctx, id, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, "ended"); err != nil {
		t.Fatal(err)
	}
	hs := []string{IDHash("long"), IDHash("never"), IDHash("ended"), IDHash("short")}
	for i := range 5 { // 5 x 0.6 idle = 3: "long" alive only because TouchMany slides it
		advance(suiteIdle * 6 / 10)
		live, err := st.TouchMany(ctx, hs)
		want := []bool{true, false, false, i < 3} // "short" ends at 2 idle (after the 3rd step)
		if err != nil || !slices.Equal(live, want) {
			t.Fatalf("step %d: %v %v, want %v", i, live, err, want)
		}
	}
}
