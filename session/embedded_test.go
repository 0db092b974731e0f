package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestEmbeddedTTLsExpireInRealTime: the ticker moves miniredis's clock with the wall
// clock, so idle records really expire and their memory is given back, with no
// command touching them.
func TestEmbeddedTTLsExpireInRealTime(t *testing.T) {
	opts := Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: 150 * time.Millisecond}
	st, m, err := newEmbedded(opts, 20*time.Millisecond, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	id := mustID(t)
	if err := st.Save(ctx, id, sampleRecord(time.Now(), "emb")); err != nil {
		t.Fatal(err)
	}
	key := st.recordKey(IDHash(id))
	if !m.Exists(key) {
		t.Fatal("nothing stored")
	}
	for deadline := time.Now().Add(2 * time.Second); m.Exists(key) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if m.Exists(key) {
		t.Fatal("idle record still in memory after its TTL: the ticker does not advance time")
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after idle timeout = %v, want ErrNotFound", err)
	}
}

// TestEmbeddedStoreRefusesOtherLocalClients: the loopback port needs the random
// password only this process knows.
func TestEmbeddedStoreRefusesOtherLocalClients(t *testing.T) {
	st, m, err := newEmbedded(Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	intruder := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer intruder.Close()
	if err := intruder.Keys(t.Context(), "*").Err(); err == nil {
		t.Fatal("a client without the password read the embedded store")
	}
}

func TestEmbeddedCloseStopsServer(t *testing.T) {
	st, err := NewEmbedded(t.Context(), Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	addr := st.(*redisStore).client.(*redis.Client).Options().Addr
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("embedded server still listening after Close")
	}
}

func TestNewEmbeddedRefusesURLAndClient(t *testing.T) {
	ring := mustRing(t, newTestKey(t))
	for _, opts := range []Options{
		{URL: "redis://h", Keys: ring, IdleTimeout: time.Minute},
		{Client: redis.NewClient(&redis.Options{}), Keys: ring, IdleTimeout: time.Minute},
		{Keys: ring}, // no idle timeout
	} {
		if st, err := NewEmbedded(t.Context(), opts); err == nil {
			_ = st.Close()
			t.Fatalf("NewEmbedded(%+v) succeeded", opts)
		}
	}
}
