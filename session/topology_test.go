package session

import (
	"context"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis deployments besides a single node that the store must work on, and the
// variables that name them (scripts/redis-topologies starts both and prints them).
const (
	clusterURLVar  = "BFF_TEST_REDIS_CLUSTER_URL"
	sentinelURLVar = "BFF_TEST_REDIS_SENTINEL_URL"
)

// topologyURL returns the URL in the variable, or skips the test saying how to get one.
func topologyURL(t *testing.T, variable string) string {
	t.Helper()
	url := os.Getenv(variable)
	if url == "" {
		t.Skipf("%s not set (scripts/redis-topologies start prints it)", variable)
	}
	return url
}

// TestRedisClusterStoreConformance runs the whole store suite on a 3-master Redis
// Cluster: every script and pipeline must keep to one hash slot per command.
func TestRedisClusterStoreConformance(t *testing.T) {
	url := topologyURL(t, clusterURLVar)
	runStoreSuite(t, func(t *testing.T) (Store, *fakeClock, func(time.Duration)) {
		return newSuiteRedis(t, url)
	})
}

// TestRedisSentinelStoreConformance runs the whole store suite through Sentinel (the
// client asks the sentinels for the master).
func TestRedisSentinelStoreConformance(t *testing.T) {
	url := topologyURL(t, sentinelURLVar)
	runStoreSuite(t, func(t *testing.T) (Store, *fakeClock, func(time.Duration)) {
		return newSuiteRedis(t, url)
	})
}

// TestRedisClusterDeletionsAfterOneNodeLostItsScripts: when one master lost its script
// cache (restart, failover) and the others kept theirs, a DeleteBySID whose records live
// on all of them runs on two nodes at the first try and on the third at the second:
// every session it ended is returned, and no index entry stays.
func TestRedisClusterDeletionsAfterOneNodeLostItsScripts(t *testing.T) {
	url := topologyURL(t, clusterURLVar)
	st, clock, _ := newSuiteRedis(t, url)
	rs := st.(*redisStore)
	ctx := t.Context()
	saveMany := func(sid string) []string {
		var ids []string
		for range 12 { // spread over the slots of all three masters
			ids = append(ids, saveIndexed(t, st, clock, sid, "alice-"+sid))
		}
		return ids
	}
	saveMany("warm-up")
	if _, err := st.DeleteBySID(ctx, "warm-up"); err != nil { // loads the scripts on every master
		t.Fatal(err)
	}
	ids := saveMany("sid-1")
	var flushed atomic.Bool
	err := rs.client.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		if flushed.CompareAndSwap(false, true) {
			return c.ScriptFlush(ctx).Err()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.DeleteBySID(ctx, "sid-1")
	if err != nil || !slices.Equal(got, sortedHashes(ids...)) {
		t.Fatalf("DeleteBySID with one master without its scripts = %d ended, %v; want %d", len(got), err, len(ids))
	}
	expectNoKeys(t, rs, "DeleteBySID")
}
