package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
)

// Bounds of the failover test. A failed request must fail fast: the store gives up on an
// operation after its operation timeout (session.DefaultOpTimeout, 1 s), so a 503 takes
// about that long at most; failBound leaves room for a loaded CI machine (race detector,
// two cores).
const (
	failoverSessions = 8
	failBound        = 3 * time.Second
	failoverDeadline = 30 * time.Second
)

// masterHang is how long the MasterHangs case freezes the master: longer than the
// sentinels' down-after-milliseconds (3 s in scripts/redis-topologies) plus an election,
// and longer than failBound, so a request that waited for the master (instead of failing
// after the store's operation timeout) would show.
const masterHang = 6 * time.Second

// TestRedisSentinelFailoverDuringTraffic: sessions keep working across a Sentinel
// failover while their API and /bff/user calls flow, whether an operator asks for it
// (SENTINEL FAILOVER: the replica is promoted, the old master demoted) or the master
// stops answering (CLIENT PAUSE ALL: the sentinels see it down and fail over on their
// own). No session is lost, and the only failures are fast 503 store_unavailable
// problem+json answers while the roles switch. Each case logs what the users saw:
// requests, failures, statuses, the longest wait and sessions lost.
func TestRedisSentinelFailoverDuringTraffic(t *testing.T) {
	url := topologyURL(t, sentinelURLVar)
	t.Run("SentinelFailover", func(t *testing.T) {
		failoverDuringTraffic(t, url, func(sc *sentinelControl, master string) {
			if err := sc.sentinels[0].Failover(t.Context(), sc.master).Err(); err != nil {
				t.Fatalf("SENTINEL FAILOVER: %v", err)
			}
		})
	})
	t.Run("MasterHangs", func(t *testing.T) {
		failoverDuringTraffic(t, url, func(sc *sentinelControl, master string) {
			c := sc.node(master)
			defer c.Close()
			if err := c.Do(t.Context(), "CLIENT", "PAUSE", masterHang.Milliseconds(), "ALL").Err(); err != nil {
				t.Fatalf("CLIENT PAUSE on the master: %v", err)
			}
		})
	})
}

// failoverDuringTraffic logs sessions in, starts their traffic, calls trigger with the
// master's address, waits until the failover is complete, and checks what users saw.
func failoverDuringTraffic(t *testing.T, url string, trigger func(sc *sentinelControl, master string)) {
	sentinel := newSentinelControl(t, url)
	logs := new(logbuf.Buffer)
	t.Cleanup(func() { logFailures(t, logs) })
	e := testenv.Start(t, testenv.Options{Log: logs, Configure: func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", url
	}})
	clients := loginSessions(t, e, failoverSessions)
	sentinel.waitReplicated(t) // the sessions are on the replica that will be promoted

	traffic := startTraffic(e, clients)
	t.Cleanup(func() { traffic.stop() }) // when a step below fails the test
	time.Sleep(500 * time.Millisecond)   // traffic flows before the switch
	old := sentinel.masterAddr(t)
	start := time.Now()
	trigger(sentinel, old)
	sentinel.waitSwitched(t, old)
	switched := time.Since(start)
	time.Sleep(time.Second) // and after it
	results := traffic.stop()
	// Sessions are counted once the old master follows the new one: nothing can then
	// answer from the old master's copy.
	waitFailover(t, "the old master to follow the new one", func() bool { return sentinel.replicaLinked(t.Context(), old) })
	settled := time.Since(start)

	lost := 0
	for _, c := range clients {
		if e.UserStatus(t, c) != http.StatusOK {
			lost++
		}
	}
	r := summarize(results)
	t.Logf("new master named after %v (old master following it after %v): %d requests, %d failed, statuses %v, longest wait %v (longest failure %v), sessions lost %d of %d",
		switched.Round(time.Millisecond), settled.Round(time.Millisecond), len(results), r.failed, r.statuses, r.longest.Round(time.Millisecond),
		r.longestFailure.Round(time.Millisecond), lost, len(clients))
	if lost != 0 {
		t.Errorf("%d of %d sessions were lost in the failover", lost, len(clients))
	}
	if r.longest > failBound {
		t.Errorf("a request waited %v, more than %v: a store failover must not hang requests", r.longest, failBound)
	}
	for i, bad := range r.bad {
		if i == 5 {
			t.Errorf("… and %d more such failures", len(r.bad)-i)
			break
		}
		t.Errorf("a request failed other than with a fast 503 problem+json: %s", bad)
	}
	// Logins write new keys: they must work on the new master.
	if resp := e.Login(t, e.NewClient(t), "bob", "/"); resp.StatusCode != http.StatusFound {
		t.Errorf("login after the failover: %d", resp.StatusCode)
	}
}

// TestRedisSentinelFailoverKeepsLogoutAnnouncements: a few seconds after a failover, a
// logout on one replica still cuts the session's stream on another. The replicas' long-
// lived subscription to the ended-sessions channel must move to the new master: left on
// the demoted one, it hears nothing published on the new master until the sentinels
// reconfigure the old one (10 to 20 s later, or never while it is partitioned away).
func TestRedisSentinelFailoverKeepsLogoutAnnouncements(t *testing.T) {
	url := topologyURL(t, sentinelURLVar)
	sentinel := newSentinelControl(t, url)
	e := testenv.Start(t, testenv.Options{Configure: withSSERoute(sseUpstream(t), func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", url
	})})
	other := e.AddReplica(t)
	e.Login(t, nil, "alice", "/")
	sentinel.waitReplicated(t)
	old := sentinel.masterAddr(t)
	if err := sentinel.sentinels[0].Failover(t.Context(), sentinel.master).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	// The next test needs a settled deployment, whatever this one's outcome.
	t.Cleanup(func() {
		waitFailover(t, "the old master to follow the new one", func() bool { return sentinel.replicaLinked(context.Background(), old) })
	})
	sentinel.waitSwitched(t, old)
	time.Sleep(announceRecovery)
	there := openStream(t, e, e.Client, other.URL)
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	mustEnd(t, there, 2*time.Second, "a logout on another replica after a failover")
}

// announceRecovery is how long after a failover the replicas may take to hear the
// ended-sessions channel again: the subscription checks itself every
// second and resubscribes when its probe does not come back.
const announceRecovery = 3 * time.Second

// loginSessions logs n users in, each with its own client (cookie jar).
func loginSessions(t *testing.T, e *testenv.Env, n int) []*http.Client {
	t.Helper()
	clients := make([]*http.Client, n)
	for i := range clients {
		clients[i] = e.NewClient(t)
		if resp := e.Login(t, clients[i], []string{"alice", "bob"}[i%2], "/"); resp.StatusCode != http.StatusFound {
			t.Fatalf("login %d: %d", i, resp.StatusCode)
		}
	}
	return clients
}

// outcome is one request of the traffic.
type outcome struct {
	path        string
	status      int
	took        time.Duration
	contentType string
	body        string
	err         error
}

// traffic is one goroutine per session calling an API route and /bff/user in turn.
type traffic struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []outcome
}

func startTraffic(e *testenv.Env, clients []*http.Client) *traffic {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &traffic{cancel: cancel}
	for _, c := range clients {
		tr.wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				path := []string{"/api/during-failover", "/bff/user"}[i%2]
				o := call1(e, c, path)
				tr.mu.Lock()
				tr.results = append(tr.results, o)
				tr.mu.Unlock()
				time.Sleep(20 * time.Millisecond) // a steady flow, not a CPU burner
			}
		})
	}
	return tr
}

func (tr *traffic) stop() []outcome {
	tr.cancel()
	tr.wg.Wait()
	return tr.results
}

// call1 sends one GET as the SPA would, and times it.
func call1(e *testenv.Env, c *http.Client, path string) outcome {
	req, err := http.NewRequest(http.MethodGet, e.URL(path), nil)
	if err != nil {
		return outcome{path: path, err: err}
	}
	req.Header.Set("X-CSRF", "1")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return outcome{path: path, took: time.Since(start), err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return outcome{path: path, status: resp.StatusCode, took: time.Since(start),
		contentType: resp.Header.Get("Content-Type"), body: string(b)}
}

// report is what the users saw during the failover.
type report struct {
	failed                  int
	statuses                map[int]int
	longest, longestFailure time.Duration
	bad                     []string // failures that were not a fast 503 problem+json
}

func summarize(results []outcome) report {
	r := report{statuses: map[int]int{}}
	for _, o := range results {
		r.statuses[o.status]++
		r.longest = max(r.longest, o.took)
		if o.status == http.StatusOK {
			continue
		}
		r.failed++
		r.longestFailure = max(r.longestFailure, o.took)
		if o.err != nil || o.status != http.StatusServiceUnavailable || o.contentType != "application/problem+json" ||
			!strings.Contains(o.body, `"store_unavailable"`) || o.took > failBound {
			r.bad = append(r.bad, fmt.Sprintf("%s: %d %q after %v (%v): %s", o.path, o.status, o.contentType, o.took, o.err, o.body))
		}
	}
	return r
}

// sentinelControl drives the Sentinel deployment of a redis+sentinel:// URL.
type sentinelControl struct {
	sentinels []*redis.SentinelClient
	master    string
	data      redis.Options // credentials of the data nodes
}

func newSentinelControl(t *testing.T, url string) *sentinelControl {
	t.Helper()
	o, err := redis.ParseFailoverURL(strings.Replace(url, "+sentinel", "", 1))
	if err != nil {
		t.Fatalf("%s: %v", sentinelURLVar, err)
	}
	sc := &sentinelControl{master: o.MasterName, data: redis.Options{Username: o.Username, Password: o.Password}}
	if o.Username == "" && o.Password == "" { // as the store reads the URL
		sc.data.Username, sc.data.Password = o.SentinelUsername, o.SentinelPassword
	}
	for _, addr := range o.SentinelAddrs {
		c := redis.NewSentinelClient(&redis.Options{Addr: addr, Username: o.SentinelUsername, Password: o.SentinelPassword})
		t.Cleanup(func() { _ = c.Close() })
		sc.sentinels = append(sc.sentinels, c)
	}
	return sc
}

// masterAddr asks the first sentinel for the current master.
func (sc *sentinelControl) masterAddr(t *testing.T) string {
	t.Helper()
	hp, err := sc.sentinels[0].GetMasterAddrByName(t.Context(), sc.master).Result()
	if err != nil || len(hp) != 2 {
		t.Fatalf("sentinel: master address: %v", err)
	}
	return net.JoinHostPort(hp[0], hp[1])
}

// waitReplicated makes sure every write so far has reached a replica: WAIT covers the
// writes of its own connection, and replication is in order, so a fenced write that
// reached the replica means the earlier ones did too.
func (sc *sentinelControl) waitReplicated(t *testing.T) {
	t.Helper()
	c := sc.node(sc.masterAddr(t))
	defer c.Close()
	ctx := t.Context()
	if err := c.Set(ctx, "bfftest:failover:fence", "1", time.Minute).Err(); err != nil {
		t.Fatalf("fence write on the master: %v", err)
	}
	if n, err := c.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d acknowledged, %v", n, err)
	}
}

// waitSwitched waits until every sentinel names a master other than old.
func (sc *sentinelControl) waitSwitched(t *testing.T, old string) {
	t.Helper()
	waitFailover(t, "the sentinels to name a new master", func() bool { return sc.switched(t.Context(), old) })
}

// waitFailover polls cond until it holds, failing the test after failoverDeadline (a
// sentinel reconfigures a demoted master only after some 10 to 20 s).
func waitFailover(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); time.Since(start) < failoverDeadline; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %v waiting for %s", failoverDeadline, what)
}

// switched reports whether every sentinel names a master other than old.
func (sc *sentinelControl) switched(ctx context.Context, old string) bool {
	for _, s := range sc.sentinels {
		hp, err := s.GetMasterAddrByName(ctx, sc.master).Result()
		if err != nil || len(hp) != 2 || net.JoinHostPort(hp[0], hp[1]) == old {
			return false
		}
	}
	return true
}

// replicaLinked reports whether the node at addr is a replica whose link to its master
// is up (the demoted master has caught up with the new one).
func (sc *sentinelControl) replicaLinked(ctx context.Context, addr string) bool {
	c := sc.node(addr)
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return false
	}
	lines := strings.Split(strings.ReplaceAll(info, "\r", ""), "\n")
	return slices.Contains(lines, "role:slave") && slices.Contains(lines, "master_link_status:up")
}

// node is a client of the data node at addr.
func (sc *sentinelControl) node(addr string) *redis.Client {
	o := sc.data
	o.Addr = addr
	return redis.NewClient(&o)
}
