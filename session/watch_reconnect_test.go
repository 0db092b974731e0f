package session

import (
	"context"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/faults"
)

// TestWatchAnnouncesAReconnectedSubscription: when the subscription's connection breaks,
// go-redis subscribes again by itself; the watcher hears EventResubscribed for it (the
// announcements of the gap are lost: whoever caches must drop what it holds), and hears
// announcements again afterwards. Real Redis when BFF_TEST_REDIS_URL is set, else
// miniredis, behind a TCP proxy that drops every connection.
func TestWatchAnnouncesAReconnectedSubscription(t *testing.T) {
	addr, via := faults.TestRedis(t)
	p := faults.NewTestProxy(t, addr)
	st, err := NewRedis(t.Context(), Options{URL: via(p.Addr()), Keys: mustRing(t, newTestKey(t)),
		IdleTimeout: time.Minute, KeyPrefix: "bfftest:reconnect:" + mustID(t)[:12] + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan Event, 64)
	st.Watch(ctx, func(ev Event) { events <- ev })
	next := func(what string) Event {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("no event within 10s: %s", what)
			return Event{}
		}
	}
	if ev := next("the first subscription"); ev.Kind != EventResubscribed {
		t.Fatalf("first event %+v, want EventResubscribed", ev)
	}
	p.Drop()
	if ev := next("after the connection broke"); ev.Kind != EventResubscribed {
		t.Fatalf("after a dropped connection: %+v, want EventResubscribed", ev)
	}
	h := IDHash("after-reconnect")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := st.PublishRefreshed(ctx, []string{h}); err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
		select {
		case ev := <-events:
			if ev.Kind == EventResubscribed {
				continue // the outer loop may also have subscribed again
			}
			if ev != (Event{Kind: EventRefreshed, IDHash: h}) {
				t.Fatalf("heard %+v, want EventRefreshed of %s", ev, h)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no announcement heard after the reconnection")
		}
	}
}
