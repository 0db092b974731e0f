package session

import (
	"testing"
	"time"
)

// The last use is derived from the record's remaining TTL: a Get slides it, a listing
// does not, and the answer is to the minute.
func TestListedLastUsedFollowsGet(t *testing.T) {
	start := time.Date(2026, 1, 2, 10, 0, 30, 0, time.UTC)
	clock := newFakeClock(start)
	s, m, err := newEmbedded(Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Hour, Now: clock.Now}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	advance := func(d time.Duration) { clock.Advance(d); m.FastForward(d) }
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "lu")
	if err := s.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	lastOf := func() time.Time {
		t.Helper()
		l, err := s.ListBySubject(t.Context(), rec.Subject)
		if err != nil || len(l.Sessions) != 1 {
			t.Fatalf("listing: %v, %v", l, err)
		}
		return l.Sessions[0].LastUsed
	}
	advance(10 * time.Minute)
	if got := lastOf(); !got.Equal(start.Truncate(time.Minute)) {
		t.Fatalf("unused since login: last used %v, want %v", got, start.Truncate(time.Minute))
	}
	if _, err := s.Get(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	used := clock.Now()
	advance(25 * time.Minute)
	if got := lastOf(); !got.Equal(used.Truncate(time.Minute)) {
		t.Fatalf("used 25 minutes ago: last used %v, want %v", got, used.Truncate(time.Minute))
	}
	if got := lastOf(); !got.Equal(used.Truncate(time.Minute)) {
		t.Fatalf("listing moved the last use to %v", got)
	}
}
