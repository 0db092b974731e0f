package refresh

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// testClock is a clock that moves only when the test says so.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClockedRefresher(t *testing.T, st session.Store, f *fakeIdP, clk *testClock, rnd func() float64) *Refresher {
	t.Helper()
	r, err := New(Config{Store: st, IdP: f, Now: clk.Now, Rand: rnd})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func stored(t *testing.T, st session.Store, id string) *session.Record {
	t.Helper()
	rec, err := st.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestUpstreamRejectingEveryTokenCannotForceARefreshPerRequest: an upstream answering 401
// to everything makes every API call a forced refresh. Within the cooldown only the first
// one reaches the IdP, on either replica (the cooldown is in the session record); after
// it, one more may.
func TestUpstreamRejectingEveryTokenCannotForceARefreshPerRequest(t *testing.T) {
	st, f, clk := newStore(t), &fakeIdP{}, newTestClock()
	replicaA := newClockedRefresher(t, st, f, clk, nil)
	replicaB := newClockedRefresher(t, st, f, clk, nil)
	id, rec := expiredSession(t, st)
	rec.AccessExpiry = clk.Now().Add(time.Hour) // valid: only the upstream's 401 forces
	got, err := replicaA.Fresh(t.Context(), id, rec, true)
	if err != nil || got.AccessToken != "at-1" {
		t.Fatalf("first forced refresh: %v, %v", got, err)
	}
	for i := range 50 {
		r := replicaA
		if i%2 == 1 {
			r = replicaB
		}
		clk.Advance(DefaultForcedCooldown / 100)
		if _, err := r.Fresh(t.Context(), id, stored(t, st, id), true); !errors.Is(err, ErrForcedRefreshCooldown) {
			t.Fatalf("forced refresh %d within the cooldown: got %v, want ErrForcedRefreshCooldown", i, err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d refresh grants for 51 upstream 401s within the cooldown, want 1", n)
	}
	clk.Advance(DefaultForcedCooldown / 2)
	if got, err := replicaB.Fresh(t.Context(), id, stored(t, st, id), true); err != nil || got.AccessToken != "at-2" {
		t.Fatalf("forced refresh after the cooldown: %v, %v", got, err)
	}
}

// TestForcedRefreshCooldownLeavesDueRefreshesAlone: the cooldown limits forced refreshes
// only; a token that is due is refreshed as always.
func TestForcedRefreshCooldownLeavesDueRefreshesAlone(t *testing.T) {
	st, f, clk := newStore(t), &fakeIdP{}, newTestClock()
	r := newClockedRefresher(t, st, f, clk, nil)
	id, rec := expiredSession(t, st)
	rec.ForcedRefreshAt = clk.Now()
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Fresh(t.Context(), id, rec, false); err != nil || got.AccessToken != "at-1" {
		t.Fatalf("due refresh within the forced cooldown: %v, %v", got, err)
	}
}

func TestBackoffSchedule(t *testing.T) {
	for _, tc := range []struct {
		failures int
		lo, hi   time.Duration // rand 0 and rand →1
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{6, 16 * time.Second, 32 * time.Second},
		{7, 30 * time.Second, 60 * time.Second},
		{8, 30 * time.Second, 60 * time.Second},
		{1000, 30 * time.Second, 60 * time.Second},
	} {
		for _, rnd := range []float64{0, 0.999999999} {
			r := newClockedRefresher(t, newStore(t), &fakeIdP{}, newTestClock(), func() float64 { return rnd })
			d := r.backoff(tc.failures)
			if d < tc.lo || d > tc.hi {
				t.Errorf("failure %d, rand %v: back-off %v, want within [%v, %v]", tc.failures, rnd, d, tc.lo, tc.hi)
			}
			if rnd == 0 && d != tc.lo {
				t.Errorf("failure %d, rand 0: back-off %v, want %v", tc.failures, d, tc.lo)
			}
		}
	}
}

// TestRecoveryIsSpreadOverTheBackoffWindow: sessions that failed together come back at
// different times, not in the same second (a thundering herd on a recovering IdP).
func TestRecoveryIsSpreadOverTheBackoffWindow(t *testing.T) {
	r := newClockedRefresher(t, newStore(t), &fakeIdP{}, newTestClock(), nil) // default jitter source
	seconds := map[time.Duration]bool{}
	for range 1000 {
		seconds[r.backoff(10).Truncate(time.Second)] = true
	}
	if len(seconds) < 10 {
		t.Fatalf("1000 sessions at the back-off cap retry within %d distinct seconds, want them spread over 30", len(seconds))
	}
}

// TestIdPOutageBacksOffInsteadOfCallingTheIdPPerRequest: while the token endpoint fails,
// requests of a session with an expired token get 503 idp_unavailable with Retry-After at
// once, without an IdP call, until the back-off has passed; on every replica, even one
// holding a copy of the record from before the failure. A success clears the back-off.
func TestIdPOutageBacksOffInsteadOfCallingTheIdPPerRequest(t *testing.T) {
	st, f, clk := newStore(t), &fakeIdP{err: idp.ErrUnavailable}, newTestClock()
	rnd := func() float64 { return 0.5 }
	replicaA := newClockedRefresher(t, st, f, clk, rnd)
	replicaB := newClockedRefresher(t, st, f, clk, rnd)
	id, before := expiredSession(t, st)
	wantIdPUnavailable := func(err error, what string) *Error {
		t.Helper()
		var p *Error
		if !errors.As(err, &p) || !errors.Is(err, ErrIdPUnavailable) || p.RetryAfter <= 0 {
			t.Fatalf("%s: got %v, want 503 idp_unavailable with Retry-After", what, err)
		}
		return p
	}
	p := wantIdPUnavailable(firstErr(replicaA.Fresh(t.Context(), id, before, false)), "first failure")
	if p.RetryAfter != 750*time.Millisecond {
		t.Fatalf("first back-off %v, want 750ms (1 s span, jitter 0.5)", p.RetryAfter)
	}
	for i := range 50 {
		r, rec := replicaA, stored(t, st, id)
		if i%2 == 1 {
			r, rec = replicaB, before // a copy read before the failure was recorded
		}
		wantIdPUnavailable(firstErr(r.Fresh(t.Context(), id, rec, false)), "during the back-off")
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d IdP calls for 51 requests within the back-off, want 1", n)
	}
	clk.Advance(750 * time.Millisecond)
	p = wantIdPUnavailable(firstErr(replicaB.Fresh(t.Context(), id, stored(t, st, id), false)), "second failure")
	if n, rec := f.calls.Load(), stored(t, st, id); n != 2 || rec.RefreshFailures != 2 || p.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("after the back-off: %d IdP calls, %d failures, back-off %v; want 2, 2, 1.5s", n, rec.RefreshFailures, p.RetryAfter)
	}
	f.err = nil // the IdP recovers
	clk.Advance(1500 * time.Millisecond)
	got, err := replicaA.Fresh(t.Context(), id, stored(t, st, id), false)
	if err != nil || got.AccessToken != "at-3" {
		t.Fatalf("after recovery: %v, %v", got, err)
	}
	if rec := stored(t, st, id); rec.RefreshFailures != 0 || !rec.RefreshRetryAt.IsZero() {
		t.Fatalf("a success left the back-off in place: %d failures, retry at %v", rec.RefreshFailures, rec.RefreshRetryAt)
	}
}

// TestBackoffServesTheStillValidToken: during the back-off a token inside the skew but
// not expired is used as it is, without an IdP call.
func TestBackoffServesTheStillValidToken(t *testing.T) {
	st, f, clk := newStore(t), &fakeIdP{}, newTestClock()
	r := newClockedRefresher(t, st, f, clk, nil)
	id, rec := expiredSession(t, st)
	rec.AccessExpiry = clk.Now().Add(10 * time.Second)
	rec.RefreshFailures, rec.RefreshRetryAt = 3, clk.Now().Add(3*time.Second)
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Fresh(t.Context(), id, rec, false); err != nil || got.AccessToken != "at-old" || f.calls.Load() != 0 {
		t.Fatalf("got %v, %v with %d IdP calls; want the old token and none", got, err, f.calls.Load())
	}
}

// TestBackoffIsNotWrittenIntoAnEndedSession: a session deleted (logout) while the failing
// IdP call ran stays deleted.
func TestBackoffIsNotWrittenIntoAnEndedSession(t *testing.T) {
	st := newStore(t)
	f := &fakeIdP{err: idp.ErrUnavailable, gate: make(chan struct{})}
	r := newClockedRefresher(t, st, f, newTestClock(), nil)
	id, rec := expiredSession(t, st)
	done := make(chan error, 1)
	go func() {
		_, err := r.Fresh(t.Context(), id, rec, false)
		done <- err
	}()
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := st.Delete(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	close(f.gate)
	<-done
	if _, err := st.Get(t.Context(), id); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the ended session came back: %v", err)
	}
}

func firstErr(_ *session.Record, err error) error { return err }
