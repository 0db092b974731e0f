package e2e

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/testenv"
)

// TestCoherentCacheAcrossReplicas: two replicas of the default configuration share one
// store; B has the session cached under the coherent TTL (minutes). A refresh on A makes
// B serve the new token, and a logout on A makes B refuse the session, both as soon as
// the announcement arrives (well within B's 1 s short TTL's multiples the test allows,
// far from the coherent TTL that would otherwise keep the stale copy).
func TestCoherentCacheAcrossReplicas(t *testing.T) {
	var o testenv.Options
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	b := e.AddReplica(t)
	e.Login(t, nil, "alice", "/")
	onB := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, b.URL+path, nil)
		req.Header.Set("X-CSRF", "1")
		for _, ck := range e.Client.Jar.Cookies(mustURL(e.Server.URL)) {
			req.AddCookie(ck)
		}
		resp, err := (&http.Client{Transport: e.Client.Transport}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := testenv.ReadAll(t, resp)
		seen := e.Upstream.Seen()
		if resp.StatusCode != http.StatusOK || len(seen) == 0 {
			t.Logf("B: %d %s", resp.StatusCode, body)
			return resp.StatusCode, ""
		}
		return resp.StatusCode, bearerOf(seen[len(seen)-1])
	}
	// until polls B for 3 s (three short TTLs: the copy B holds lives minutes).
	until := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("replica B: %s not seen within 3 s", what)
			}
		}
	}
	if code, _ := onB("/api/warm"); code != http.StatusOK {
		t.Fatalf("B: %d", code)
	}
	time.Sleep(1500 * time.Millisecond) // past the short TTL: B serves its copy under the coherent TTL
	code, old := onB("/api/cached")
	if code != http.StatusOK {
		t.Fatalf("B: %d", code)
	}

	// A refreshes (the upstream refuses the old token once: a forced refresh).
	var reject atomic.Bool
	reject.Store(true)
	e.Upstream.Status = func(r *http.Request) int {
		if reject.Load() && bearerOf(r.Header) == old {
			return http.StatusUnauthorized
		}
		return 0
	}
	if r := e.Do(t, nil, http.MethodGet, "/api/refresh-on-a", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("A: %d", r.StatusCode)
	}
	reject.Store(false) // from here B could send the old token and be answered
	if e.OP.Stats().RefreshGrants != 1 {
		t.Fatalf("OP saw %d refresh grants, want 1", e.OP.Stats().RefreshGrants)
	}
	until("the refreshed token", func() bool {
		code, tok := onB("/api/after-refresh")
		return code == http.StatusOK && tok != old
	})

	// A logs out: B refuses the session.
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout on A: %d", r.StatusCode)
	}
	until("the logout", func() bool {
		code, _ := onB("/api/after-logout")
		return code == http.StatusUnauthorized
	})
}
