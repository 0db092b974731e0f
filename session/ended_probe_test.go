package session

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// deafFirst is a client whose first subscription lands on another server, as after a
// Sentinel failover a subscription stays on the demoted master and hears nothing
// published on the new one; its commands and later subscriptions use its own server.
type deafFirst struct {
	redis.UniversalClient
	deaf *redis.Client
	subs atomic.Int32
}

func (c *deafFirst) Subscribe(ctx context.Context, channels ...string) *redis.PubSub {
	if c.subs.Add(1) == 1 {
		return c.deaf.Subscribe(ctx, channels...)
	}
	return c.UniversalClient.Subscribe(ctx, channels...)
}

// TestWatchEndedLeavesADeafSubscription: a watcher whose subscription hears nothing of
// what the store publishes (left on a demoted master) notices it by its probe and
// subscribes again, so announcements reach it within a few probe periods.
func TestWatchEndedLeavesADeafSubscription(t *testing.T) {
	live, old := miniredis.RunT(t), miniredis.RunT(t)
	deaf := redis.NewClient(&redis.Options{Addr: old.Addr()})
	client := redis.NewClient(&redis.Options{Addr: live.Addr()})
	t.Cleanup(func() { _ = deaf.Close(); _ = client.Close() })
	c := &deafFirst{UniversalClient: client, deaf: deaf}
	st, err := NewRedis(t.Context(), Options{Client: c, Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.(*redisStore).endedProbe = 50 * time.Millisecond

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
	want := IDHash("ended")
	deadline := time.Now().Add(3 * time.Second)
	for {
		if err := st.PublishEnded(ctx, []string{want}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		heard := slices.Clone(got)
		mu.Unlock()
		if len(heard) > 0 {
			if slices.ContainsFunc(heard, func(h string) bool { return h != want }) {
				t.Fatalf("the watcher heard %v, want only %s (probes are not id hashes)", heard, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the watcher heard nothing within 3s: it stayed on the deaf subscription (%d subscriptions)", c.subs.Load())
		}
	}
	if n := c.subs.Load(); n < 2 {
		t.Fatalf("%d subscriptions, want a second one after the deaf first", n)
	}
}

// TestOnlySentinelStoresProbeTheirSubscription: the probe runs where a failover can leave
// a subscription deaf (Sentinel), and nowhere else: a single node has no failover, and a
// Cluster PUBLISH reaches every node's subscribers.
func TestOnlySentinelStoresProbeTheirSubscription(t *testing.T) {
	tests := []struct {
		url   string
		probe bool
	}{
		{"redis://127.0.0.1:1/0", false},
		{"redis+cluster://127.0.0.1:1?addr=127.0.0.1:2", false},
		{"redis+sentinel://127.0.0.1:1?master_name=m&addr=127.0.0.1:2", true},
		{"redis://127.0.0.1:1?master_name=m", true},
	}
	for _, tc := range tests {
		st, err := NewRedis(t.Context(), Options{URL: tc.url, Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute})
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if got := st.(*redisStore).endedProbe > 0; got != tc.probe {
			t.Errorf("%s: probes %v, want %v", tc.url, got, tc.probe)
		}
		_ = st.Close()
	}
}
