package handler_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestSessionEventsRefusesCrossSite: EventSource cannot send the CSRF header, so the
// stream trusts only the browser's Sec-Fetch-Site, or an Origin/Referer of the public URL.
func TestSessionEventsRefusesCrossSite(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	ck := e.SessionCookies(e.Client)
	for _, tc := range []struct {
		name string
		h    http.Header
		want int
	}{
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}, 403},
		{"foreign origin", http.Header{"Sec-Fetch-Site": nil, "Origin": {"https://evil.example"}}, 403},
		{"foreign referer", http.Header{"Sec-Fetch-Site": nil, "Referer": {"https://evil.example/x"}}, 403},
		{"nothing says where from", http.Header{"Sec-Fetch-Site": nil}, 403},
		{"own origin", http.Header{"Sec-Fetch-Site": nil, "Origin": {e.PublicURL}}, 200},
		{"own referer", http.Header{"Sec-Fetch-Site": nil, "Referer": {e.PublicURL + "/page"}}, 200},
		{"same-origin", nil, 200},
	} {
		resp, _ := e.OpenEvents(t, e.Server.URL, ck, tc.h)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == 403 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", tc.name, resp.Header.Get("Content-Type"))
		}
		resp.Body.Close()
	}
}

// TestSessionEventsWithoutSessionIs401: no stream starts without a live session.
func TestSessionEventsWithoutSessionIs401(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	resp, s := e.OpenEvents(t, e.Server.URL, "", nil)
	if resp.StatusCode != http.StatusUnauthorized || s != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("no cookie: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e.Login(t, nil, "alice", "/")
	ck := e.SessionCookies(e.Client)
	e.Do(t, nil, http.MethodPost, "/bff/logout", nil).Body.Close()
	if resp, _ := e.OpenEvents(t, e.Server.URL, ck, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ended session's cookie: %d", resp.StatusCode)
	}
}

// TestSessionEventsLogoutEndsTheStream: the first event says when the session ends; a
// logout in another tab is heard as ended (logout), and the stream then ends cleanly.
func TestSessionEventsLogoutEndsTheStream(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	_, s := e.OpenEvents(t, e.Server.URL, e.SessionCookies(e.Client), nil)
	ev := s.Expect(t, "session", 5*time.Second)
	if strings.Contains(ev.Data, "eyJ") || !strings.Contains(ev.Data, `"idleExpiresAt"`) || !strings.Contains(ev.Data, `"absoluteExpiresAt"`) {
		t.Fatalf("session event %s", ev.Data)
	}
	e.Do(t, nil, http.MethodPost, "/bff/logout", nil).Body.Close()
	var end struct{ Reason string }
	s.Expect(t, "ended", 5*time.Second).Decode(t, &end)
	if end.Reason != "logout" {
		t.Fatalf("reason %q, want logout", end.Reason)
	}
	s.Ended(t, 5*time.Second)
}

// TestSessionEventsExpiryWithoutKeepingTheSessionAlive: an open stream is not activity:
// the session still ends at its idle timeout, announced by expiring, then ended (expired).
func TestSessionEventsExpiryWithoutKeepingTheSessionAlive(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Session.IdleTimeout, c.Session.ExpiryWarning, c.Session.CacheTTL = 3*time.Second, 2*time.Second, 0
	}})
	e.Login(t, nil, "alice", "/")
	_, s := e.OpenEvents(t, e.Server.URL, e.SessionCookies(e.Client), nil)
	s.Expect(t, "session", 5*time.Second)
	var exp struct{ Which string }
	s.Expect(t, "expiring", 5*time.Second).Decode(t, &exp)
	if exp.Which != "idle" {
		t.Fatalf("expiring %q, want idle", exp.Which)
	}
	var end struct{ Reason string }
	s.Expect(t, "ended", 10*time.Second).Decode(t, &end)
	if end.Reason != "expired" {
		t.Fatalf("reason %q, want expired", end.Reason)
	}
	s.Ended(t, 5*time.Second)
	if got := e.UserStatus(t, e.Client); got != http.StatusUnauthorized {
		t.Fatalf("/bff/user after the idle timeout: %d, want 401 (the stream kept the session alive)", got)
	}
}

// TestSessionEventsLimits: at most 16 streams per session (429), and
// server.maxEventStreams per replica (503).
func TestSessionEventsLimits(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) { c.Server.MaxEventStreams = 17 }})
	e.Login(t, nil, "alice", "/")
	ck := e.SessionCookies(e.Client)
	for i := range 16 {
		if resp, _ := e.OpenEvents(t, e.Server.URL, ck, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := e.OpenEvents(t, e.Server.URL, ck, nil); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("17th stream of one session: %d, want 429 with Retry-After", resp.StatusCode)
	}
	bob := e.NewClient(t)
	e.Login(t, bob, "bob", "/")
	bck := e.SessionCookies(bob)
	if resp, _ := e.OpenEvents(t, e.Server.URL, bck, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("17th stream of the replica: %d", resp.StatusCode)
	}
	if resp, _ := e.OpenEvents(t, e.Server.URL, bck, nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("18th stream of the replica: %d, want 503", resp.StatusCode)
	}
}
