package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// twoReplicasOnAStoppedClock starts two replicas sharing one Redis (real with
// BFF_TEST_REDIS_URL, else miniredis), both on clk, with the default rate limit, and
// returns the two base URLs and a client without a cookie jar (every request a new
// visitor from 127.0.0.1, the office's one NAT address).
func twoReplicasOnAStoppedClock(t *testing.T, clk *stoppedClock) (*testenv.Env, [2]string, *http.Client) {
	t.Helper()
	var o testenv.Options
	o.BFFOptions = []bff.Option{bff.WithClock(clk.Now)}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	if d := config.Defaults().RateLimit; e.Config.RateLimit != d {
		t.Fatalf("the test env changed the rate limit (%+v), want the defaults %+v", e.Config.RateLimit, d)
	}
	other := e.AddReplicaOpts(t, nil, bff.WithClock(clk.Now))
	c := e.NewClient(t)
	c.Jar = nil
	return e, [2]string{e.Server.URL, other.URL}, c
}

func get(t *testing.T, c *http.Client, url string) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestReplicasShareOneLoginBudget: one address hammering /bff/login across two replicas
// (a load balancer alternating) gets the burst ONCE, not once per replica, then a 429
// page with a Retry-After that says when the next try would be allowed.
func TestReplicasShareOneLoginBudget(t *testing.T) {
	clk := &stoppedClock{now: time.Now()}
	_, base, c := twoReplicasOnAStoppedClock(t, clk)
	burst := config.Defaults().RateLimit.Burst
	allowed := 0
	var refused *http.Response
	for i := 0; i < 3*burst && refused == nil; i++ {
		r := get(t, c, base[i%2]+"/bff/login")
		switch r.StatusCode {
		case http.StatusFound:
			allowed++
		case http.StatusTooManyRequests:
			refused = r
		default:
			t.Fatalf("login %d: %d", i, r.StatusCode)
		}
	}
	if allowed != burst {
		t.Fatalf("two replicas allowed %d logins at once from one address, want the one shared burst of %d", allowed, burst)
	}
	if ct := refused.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("429 Content-Type %q, want the HTML page (a navigation)", ct)
	}
	if ra, err := strconv.Atoi(refused.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q, want whole seconds until the next allowed try", refused.Header.Get("Retry-After"))
	}
	// The callback is refused too, on either replica, until the budget refills.
	for _, b := range base {
		if r := get(t, c, b+"/bff/callback?state=x&code=y"); r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("callback past the shared budget: %d", r.StatusCode)
		}
	}
	clk.Advance(time.Minute / time.Duration(config.Defaults().RateLimit.PerMinute))
	if r := get(t, c, base[1]+"/bff/login"); r.StatusCode != http.StatusFound {
		t.Fatalf("login after one token came back: %d", r.StatusCode)
	}
}

// TestDefaultLoginLimitLetsAnOfficeSignIn: 500 people behind one NAT sign in at 9 a.m.
// across two replicas: 75 in the same instant (a meeting ends), the other 425 evenly
// over the next nine minutes, each with a login and a callback. The default budget
// refuses none of them. Counting, not timing: the replicas' clock moves only when a
// user arrives.
func TestDefaultLoginLimitLetsAnOfficeSignIn(t *testing.T) {
	clk := &stoppedClock{now: time.Now()}
	_, base, c := twoReplicasOnAStoppedClock(t, clk)
	signIn := func(user int) {
		for i, path := range []string{"/bff/login", "/bff/callback?state=x&code=y"} {
			if r := get(t, c, base[(user+i)%2]+path); r.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("user %d of the office refused at %s (429)", user, path)
			}
		}
	}
	const together, rest = 75, 425
	for u := range together {
		signIn(u)
	}
	gap := 9 * time.Minute / rest
	for u := range rest {
		clk.Advance(gap)
		signIn(together + u)
	}
}
