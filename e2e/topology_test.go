package e2e

import (
	"os"
	"testing"
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

// sharedStoreTests are the whole-flow tests whose outcome depends on what the shared
// store does across replicas and keys: the exactly-once refresh (lease lock, pub/sub
// wake-up), back-channel logout (sid and subject index sets, the logout token's replay
// marker), the ended-session announcement that cuts streams on another replica, and the
// login budget shared by replicas (rate-limit script). Every login also puts and takes a
// pending login. They run as they stand, with BFF_TEST_REDIS_URL pointing at a topology.
var sharedStoreTests = []struct {
	name string
	run  func(*testing.T)
}{
	{"ConcurrentRefreshAcrossReplicasIsExactlyOnce", TestConcurrentRefreshAcrossReplicasIsExactlyOnce},
	{"BackchannelLogoutEndsTheSession", TestBackchannelLogoutEndsTheSession},
	{"BackchannelLogoutBySubject", TestBackchannelLogoutBySubject},
	{"BackchannelLogoutWithSIDOfAnotherSubjectEndsNothing", TestBackchannelLogoutWithSIDOfAnotherSubjectEndsNothing},
	{"BackchannelLogoutOfAnEndedSessionIsNotCountedAgain", TestBackchannelLogoutOfAnEndedSessionIsNotCountedAgain},
	{"BackchannelLogoutCutsLiveStreams", TestBackchannelLogoutCutsLiveStreams},
	{"LogoutCutsLiveStreams", TestLogoutCutsLiveStreams},
	{"ReplicasShareOneLoginBudget", TestReplicasShareOneLoginBudget},
}

// runOnTopology runs sharedStoreTests with every BFF's store on the deployment the
// variable names. t.Setenv is safe: no test of this package runs in parallel.
func runOnTopology(t *testing.T, variable string) {
	url := topologyURL(t, variable)
	t.Setenv("BFF_TEST_REDIS_URL", url)
	for _, tc := range sharedStoreTests {
		t.Run(tc.name, tc.run)
	}
}

// TestSharedStoreOnRedisCluster: replicas sharing a 3-master Redis Cluster.
func TestSharedStoreOnRedisCluster(t *testing.T) { runOnTopology(t, clusterURLVar) }

// TestSharedStoreOnRedisSentinel: replicas sharing a Sentinel-managed master.
func TestSharedStoreOnRedisSentinel(t *testing.T) { runOnTopology(t, sentinelURLVar) }
