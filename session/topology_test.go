package session

import (
	"os"
	"testing"
	"time"
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
