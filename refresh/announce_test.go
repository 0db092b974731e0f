package refresh

import (
	"context"
	"testing"
	"time"

	"github.com/tokenward/bff/session"
)

// TestARefreshIsAnnouncedToEveryReplica: once the new tokens are saved, the refresher
// publishes the session's id hash as refreshed (other replicas drop their cached copy,
// the session's pages hear of it), once, and never as an end.
func TestARefreshIsAnnouncedToEveryReplica(t *testing.T) {
	st := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan session.Event, 16)
	st.Watch(ctx, func(ev session.Event) { events <- ev })
	if ev := <-events; ev.Kind != session.EventResubscribed {
		t.Fatalf("first event %+v, want the subscription's start", ev)
	}
	f := &fakeIdP{}
	r := newRefresher(t, st, f, 0)
	id, rec := expiredSession(t, st)
	if _, err := r.Fresh(t.Context(), id, rec, false); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev != (session.Event{Kind: session.EventRefreshed, IDHash: session.IDHash(id)}) {
			t.Fatalf("heard %+v, want the session's refresh", ev)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the refresh was not announced within 3s")
	}
	select {
	case ev := <-events:
		t.Fatalf("a second announcement %+v for one refresh", ev)
	case <-time.After(100 * time.Millisecond):
	}
}
