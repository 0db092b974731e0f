package spademo

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestClockNeverShowsANegativeTimeLeftAfterTheStreamsTokenExpired: a stream carries the
// token it was opened with, so once the BFF has refreshed the session that token expires
// while the stream goes on. The events must then say "expired" (and when), never count
// below zero, and never say 0 s left while the token is still valid.
func TestClockNeverShowsANegativeTimeLeftAfterTheStreamsTokenExpired(t *testing.T) {
	exp := time.Date(2026, 12, 4, 16, 0, 10, 0, time.UTC)
	offsets := []time.Duration{ // the clock as each event sees it, relative to exp
		-2500 * time.Millisecond, -1500 * time.Millisecond, -500 * time.Millisecond,
		0, 500 * time.Millisecond, 3 * time.Second, time.Hour,
	}
	want := []struct {
		left    int64
		expired bool
	}{{3, false}, {2, false}, {1, false}, {0, true}, {0, true}, {0, true}, {0, true}}

	var mu sync.Mutex
	n := 0
	a := &API{tick: time.Millisecond, now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		i := min(n, len(offsets)-1)
		n++
		return exp.Add(offsets[i])
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.clock(w, r, &oidc.IDToken{Expiry: exp})
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET /clock: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for i := 0; i < len(want); {
		if !sc.Scan() {
			t.Fatalf("the stream ended after %d events: %v", i, sc.Err())
		}
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev tick
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %d %q: %v", i, data, err)
		}
		if ev.TokenSecondsLeft != want[i].left || ev.TokenExpired != want[i].expired || !ev.TokenExpiresAt.Equal(exp) {
			t.Errorf("event %d at exp%+v: %s; want tokenSecondsLeft %d, tokenExpired %v, tokenExpiresAt %s",
				i, offsets[i], data, want[i].left, want[i].expired, exp.Format(time.RFC3339))
		}
		i++
	}
}
