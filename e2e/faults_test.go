package e2e

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/faults"
	"github.com/tokenward/bff/internal/testenv"
)

// The fault scenarios of docs/operations.md ("Faults"): two replicas on one Redis, reached
// through a TCP proxy that stalls or kills it, and a provider with strict refresh-token
// rotation (a reused refresh token revokes the family) and short tokens, so that refreshes
// happen during every fault. Each scenario logs what users saw (failed requests and their
// statuses, the longest wait, sessions lost) and asserts only correctness: every failure is
// a prompt 503 problem+json, and no session is lost where the design promises it.

// faultRig is the stack of one scenario.
type faultRig struct {
	e        *testenv.Env
	replica  *testenv.Replica
	proxies  []*faults.Proxy // [0] in front of the first replica's store, [1] the replica's
	endpoint *faults.Endpoint
}

// newFaultRig starts the OP (strict rotation unless grace), the BFF and a second replica,
// each replica's store behind its own proxy (separate: so one replica can lose its store,
// as when it dies); the scenario faults both for a Redis fault.
func newFaultRig(t *testing.T, grace time.Duration) *faultRig {
	t.Helper()
	target, viaProxy := faults.TestRedis(t)
	rig := &faultRig{}
	for range 2 {
		rig.proxies = append(rig.proxies, faults.NewTestProxy(t, target))
	}
	o := testenv.Options{RefreshGracePeriod: grace}
	testenv.ShortTokens(&o)
	o.WrapOP = func(h http.Handler) http.Handler {
		rig.endpoint = faults.NewEndpoint(h, "/oauth/token")
		return rig.endpoint
	}
	o.Configure = chainConfig(o.Configure, func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", viaProxy(rig.proxies[0].Addr())
	})
	rig.e = testenv.Start(t, o)
	rig.replica = rig.e.AddReplicaWith(t, func(c *config.Config) { c.Session.RedisURL = viaProxy(rig.proxies[1].Addr()) })
	return rig
}

// chainConfig runs prev (ShortTokens' edit) and then edit.
func chainConfig(prev, edit func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		if prev != nil {
			prev(c)
		}
		edit(c)
	}
}

// stall, kill and restart apply to both replicas' view of Redis.
func (r *faultRig) each(f func(*faults.Proxy)) {
	for _, p := range r.proxies {
		f(p)
	}
}

// faultSession is one logged-in browser; its cookies work on either replica.
type faultSession struct {
	cookies []*http.Cookie
}

func (r *faultRig) login(t *testing.T, n int) []*faultSession {
	t.Helper()
	users := []string{"alice", "bob"}
	out := make([]*faultSession, n)
	for i := range out {
		c := r.e.NewClient(t)
		r.e.Login(t, c, users[i%2], "/")
		out[i] = &faultSession{cookies: c.Jar.Cookies(mustURL(r.e.Server.URL))}
	}
	return out
}

// tally is what the users saw during a scenario.
type tally struct {
	mu           sync.Mutex
	total        int
	statuses     map[int]int
	longest      time.Duration
	bad          []string // failures that were not a 503 problem+json with Retry-After
	endOK        bool     // a 401 session_expired is the expected end (strict rotation after a crash)
	noRetryAfter int      // 503s without Retry-After (each is also in bad)
}

func (tl *tally) add(code int, took time.Duration, ctype, retryAfter, body string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.total++
	if tl.statuses == nil {
		tl.statuses = map[int]int{}
	}
	if code != http.StatusOK {
		tl.statuses[code]++
		ended := code == http.StatusUnauthorized && tl.endOK
		if code != http.StatusServiceUnavailable && !ended || !strings.HasPrefix(ctype, "application/problem+json") {
			tl.bad = append(tl.bad, body)
		}
		if retryAfter == "" && code == http.StatusServiceUnavailable {
			// every 503 says when to come back, whichever layer gave it
			tl.noRetryAfter++
			tl.bad = append(tl.bad, "no Retry-After: "+body)
		}
	}
	tl.longest = max(tl.longest, took)
}

func (tl *tally) report(t *testing.T, name string, lost, sessions int) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	failed := 0
	for _, n := range tl.statuses {
		failed += n
	}
	t.Logf("FAULT %s: failed %d/%d requests, statuses %v (%d without Retry-After), longest wait %s, sessions lost %d/%d",
		name, failed, tl.total, tl.statuses, tl.noRetryAfter, tl.longest.Round(time.Millisecond), lost, sessions)
	for _, b := range tl.bad {
		t.Errorf("a failure that is not a 503 problem+json: %.200s", b)
	}
}

// get sends one API request of s to base and records it.
func (r *faultRig) get(t *testing.T, c *http.Client, s *faultSession, base string, tl *tally) int {
	req, _ := http.NewRequest(http.MethodGet, base+"/api/fault", nil)
	req.Header.Set("X-CSRF", "1")
	for _, ck := range s.cookies {
		req.AddCookie(ck)
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("request: %v", err)
		return 0
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if tl != nil {
		tl.add(resp.StatusCode, time.Since(start), resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), string(body))
	}
	return resp.StatusCode
}

// traffic sends each session's requests, one every 100 ms alternating between the
// replicas, until stop is closed.
func (r *faultRig) traffic(t *testing.T, sessions []*faultSession, tl *tally, stop <-chan struct{}) *sync.WaitGroup {
	c := burstClient(r.e)
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Go(func() {
			bases := []string{r.e.Server.URL, r.replica.URL}
			for n := i; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				r.get(t, c, s, bases[n%2], tl)
			}
		})
	}
	return &wg
}

// lost counts the sessions that no longer work once the fault is over: each is given
// until deadline to answer 200 (a 503 is retried, a 401 is a lost session).
func (r *faultRig) lost(t *testing.T, sessions []*faultSession, base string, within time.Duration, tl *tally) int {
	c := burstClient(r.e)
	n := 0
	for _, s := range sessions {
		deadline := time.Now().Add(within)
		for {
			code := r.get(t, c, s, base, tl)
			if code == http.StatusOK {
				break
			}
			if code == http.StatusUnauthorized || time.Now().After(deadline) {
				n++
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return n
}

// during runs the sessions' traffic for 1 s, then with the fault (apply) for d, then 3 s
// after undo, and returns what the users saw.
func (r *faultRig) during(t *testing.T, sessions []*faultSession, d time.Duration, apply, undo func()) *tally {
	tl := new(tally)
	stop := make(chan struct{})
	wg := r.traffic(t, sessions, tl, stop)
	time.Sleep(time.Second)
	apply()
	time.Sleep(d)
	undo()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	return tl
}

// storeFault runs traffic on 8 sessions through fault (applied for d, then undone) and
// reports it; no session may be lost.
func storeFault(t *testing.T, name string, d time.Duration, apply, undo func(*faults.Proxy)) {
	rig := newFaultRig(t, 0)
	sessions := rig.login(t, 8)
	tl := rig.during(t, sessions, d, func() { rig.each(apply) }, func() { rig.each(undo) })
	lost := rig.lost(t, sessions, rig.e.Server.URL, 15*time.Second, nil)
	tl.report(t, name, lost, len(sessions))
	if lost != 0 {
		t.Errorf("%d sessions lost to a store fault", lost)
	}
	if st := rig.e.OP.Stats(); st.RefreshReuseDetected != 0 {
		t.Errorf("the OP saw %d refresh token reuses", st.RefreshReuseDetected)
	}
}

func TestFaultRedisStall(t *testing.T) {
	storeFault(t, "redis stall 5s", 5*time.Second, (*faults.Proxy).Stall, (*faults.Proxy).Resume)
}

func TestFaultRedisKill(t *testing.T) {
	storeFault(t, "redis kill 8s", 8*time.Second, (*faults.Proxy).Kill, func(p *faults.Proxy) {
		if err := p.Restart(); err != nil {
			t.Error(err)
		}
	})
}

// TestFaultReplicaKilledMidRefresh: the first replica loses its store (as when it is
// killed) right after the provider answered its refresh; the other replica takes over.
// With a rotation grace period at the provider the session survives; with strict rotation
// it ends (401), exactly as docs/deploy/idp-settings.md says.
func TestFaultReplicaKilledMidRefresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		grace    time.Duration
		survives bool
	}{{"with grace", time.Minute, true}, {"strict", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newFaultRig(t, tc.grace)
			sessions := rig.login(t, 1)
			var once sync.Once
			rig.endpoint.AfterAnswer(func() { once.Do(rig.proxies[0].Kill) })
			time.Sleep(3100 * time.Millisecond) // the 3 s token has expired
			tl := tally{endOK: !tc.survives}
			c := burstClient(rig.e)
			if code := rig.get(t, c, sessions[0], rig.e.Server.URL, &tl); code != http.StatusOK {
				t.Fatalf("the dying replica had the new tokens but answered %d", code)
			}
			// The surviving replica leaves the marked session alone for the pending window
			// (503 store_unavailable, Retry-After), then redeems the old refresh token once.
			lost := rig.lost(t, sessions, rig.replica.URL, 30*time.Second, &tl)
			tl.report(t, "replica kill mid-refresh, "+tc.name, lost, 1)
			st := rig.e.OP.Stats()
			if survived := lost == 0; survived != tc.survives {
				t.Fatalf("session survived %v, want %v (OP stats %+v)", survived, tc.survives, st)
			}
			if tc.survives && st.RefreshReuseDetected != 0 || !tc.survives && st.RefreshReuseDetected != 1 {
				t.Fatalf("OP stats %+v: the old refresh token was redeemed more than once after the crash", st)
			}
			if tl.statuses[http.StatusServiceUnavailable] == 0 {
				t.Fatal("the surviving replica never waited for the pending window")
			}
		})
	}
}

// TestFaultProviderOutage: the token endpoint answers 503 for 4 s while tokens expire;
// sessions get 503 idp_unavailable meanwhile and all work again after it.
func TestFaultProviderOutage(t *testing.T) {
	rig := newFaultRig(t, 0)
	sessions := rig.login(t, 8)
	tl := rig.during(t, sessions, 4*time.Second,
		func() { rig.endpoint.Status(http.StatusServiceUnavailable) }, func() { rig.endpoint.Status(0) })
	lost := rig.lost(t, sessions, rig.e.Server.URL, 70*time.Second, nil)
	tl.report(t, "provider outage 4s", lost, len(sessions))
	if lost != 0 {
		t.Errorf("%d sessions lost to a provider outage", lost)
	}
}
