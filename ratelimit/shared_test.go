package ratelimit

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/session"
)

// brokenStore is the embedded session store, closed: every TakeToken fails as a Redis
// outage does (session.ErrUnavailable).
func brokenStore(t *testing.T, now func() time.Time) Shared {
	t.Helper()
	keys, err := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err != nil {
		t.Fatal(err)
	}
	st, err := session.NewEmbedded(context.Background(), session.Options{Keys: keys, IdleTimeout: time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	sh, ok := st.(Shared)
	if !ok {
		t.Fatal("the session store does not implement ratelimit.Shared")
	}
	if _, _, err := sh.TakeToken(context.Background(), "s", "c", time.Second, 1); err == nil {
		t.Fatal("a closed store answered TakeToken")
	}
	return sh
}

// TestStoreOutageFailsOpenToTheReplicaBudget: when the shared store fails, a login the
// budget allows is never refused (a Redis blip is not a login outage), one address
// hammering is still limited by this replica's own bucket, Retry-After is still known,
// and the outage is logged once, not on every login.
func TestStoreOutageFailsOpenToTheReplicaBudget(t *testing.T) {
	c := newClock()
	logs := &logbuf.Buffer{}
	l := mustNew(t, Config{Rate: rate.Every(10 * time.Second), Burst: 3, Now: c.Now,
		Shared: brokenStore(t, c.Now), Scope: "https://app.example", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for i := range 3 {
		if ok, _ := l.Take(request("203.0.113.7:1000")); !ok {
			t.Fatalf("login %d within the budget refused while the store is down", i+1)
		}
	}
	ok, wait := l.Take(request("203.0.113.7:1000"))
	if ok || wait != 10*time.Second {
		t.Fatalf("past the budget with the store down: allowed=%v wait=%v; want refused, 10s", ok, wait)
	}
	if n := strings.Count(logs.String(), "event=ratelimit_store_unavailable"); n != 1 {
		t.Fatalf("%d outage warnings for 4 logins within a minute, want 1:\n%s", n, logs)
	}
	c.Advance(time.Minute)
	l.Allow(request("203.0.113.7:1000"))
	if n := strings.Count(logs.String(), "event=ratelimit_store_unavailable"); n != 2 {
		t.Fatalf("%d outage warnings after a minute more, want 2", n)
	}
	if strings.Contains(logs.String(), "203.0.113.7") {
		t.Fatal("the warning names the client address")
	}
}
