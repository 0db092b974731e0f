package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/testenv"
)

// TestSessionEventsAcrossReplicas: a stream on replica B hears a refresh and a logout
// done on replica A (through the shared store's announcements).
func TestSessionEventsAcrossReplicas(t *testing.T) {
	o := testenv.Options{}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	b := e.AddReplica(t)
	e.Login(t, nil, "alice", "/")
	_, s := e.OpenEvents(t, b.URL, e.SessionCookies(e.Client), nil)
	var first struct{ AccessTokenExpiresAt time.Time }
	s.Expect(t, "session", 5*time.Second).Decode(t, &first)

	// A refresh on A: the upstream rejects the first token once, forcing one.
	var mu sync.Mutex
	var rejected string
	e.Upstream.Status = func(r *http.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if rejected == "" {
			rejected = bearerOf(r.Header)
			return http.StatusUnauthorized
		}
		return 0
	}
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("api: %d", r.StatusCode)
	}
	var ref struct{ AccessTokenExpiresAt time.Time }
	s.Expect(t, "refreshed", 5*time.Second).Decode(t, &ref)
	if ref.AccessTokenExpiresAt.IsZero() || ref.AccessTokenExpiresAt.Equal(first.AccessTokenExpiresAt) {
		t.Fatalf("refreshed expiry %v, first %v", ref.AccessTokenExpiresAt, first.AccessTokenExpiresAt)
	}

	e.Do(t, nil, http.MethodPost, "/bff/logout", nil).Body.Close()
	var end struct{ Reason string }
	s.Expect(t, "ended", 5*time.Second).Decode(t, &end)
	if end.Reason != "ended-elsewhere" {
		t.Fatalf("reason %q, want ended-elsewhere", end.Reason)
	}
	s.Ended(t, 5*time.Second)
}

// TestSessionEventsHearBackchannelLogout: a back-channel logout posted to replica A ends
// the stream open on replica B.
func TestSessionEventsHearBackchannelLogout(t *testing.T) {
	o := testenv.Options{}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	b := e.AddReplica(t)
	c := e.NewClient(t)
	sub, sid := e.UserSID(t, c)
	_, s := e.OpenEvents(t, b.URL, e.SessionCookies(c), nil)
	s.Expect(t, "session", 5*time.Second)
	tok, err := e.OP.LogoutToken(testenv.ClientID, sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	if resp := e.PostLogoutToken(t, tok); resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout: %d", resp.StatusCode)
	}
	s.Expect(t, "ended", 5*time.Second)
	s.Ended(t, 5*time.Second)
}

// TestSessionEventsEndAtShutdown: closing the replica ends its streams cleanly with a
// retry hint.
func TestSessionEventsEndAtShutdown(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	_, s := e.OpenEvents(t, e.Server.URL, e.SessionCookies(e.Client), nil)
	s.Expect(t, "session", 5*time.Second)
	_ = e.BFF.Close()
	s.Expect(t, "shutdown", 5*time.Second)
	if raw := s.Ended(t, 5*time.Second); !strings.HasPrefix(raw, "retry: ") && !strings.Contains(raw, "\nretry: ") {
		t.Fatalf("no retry hint in %q", raw)
	}
}
