package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// sseUpstream streams one event every 50 ms until the client goes away, reporting
// whether it saw a bearer.
func sseUpstream(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		bearer := strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: {\"n\":%d,\"bearer\":%v}\n\n", i, bearer); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func withSSERoute(sse *httptest.Server, more func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.Routes = append(c.Routes, config.Route{Path: "/sse/", Upstream: sse.URL})
		if more != nil {
			more(c)
		}
	}
}

// openStream opens an SSE stream at base (a replica's URL) with c's cookies for e's
// origin, checks the first event carries the bearer, and returns a channel that is
// closed when the stream ends.
func openStream(t *testing.T, e *testenv.Env, c *http.Client, base string) <-chan struct{} {
	t.Helper()
	rest := openStreamRest(t, e, c, base)
	done := make(chan struct{})
	go func() {
		<-rest
		close(done)
	}()
	return done
}

// streamRest is what an SSE stream carried after its first event, and the error its
// read ended with: nil for a clean end (the final chunk), io.ErrUnexpectedEOF without.
type streamRest struct {
	body string
	err  error
}

// openStreamRest is openStream returning the rest of the stream when it ends.
func openStreamRest(t *testing.T, e *testenv.Env, c *http.Client, base string) <-chan streamRest {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/sse/events", nil)
	req.Header.Set("X-CSRF", "1")
	for _, ck := range c.Jar.Cookies(mustURL(e.Server.URL)) {
		req.AddCookie(ck)
	}
	resp, err := (&http.Client{Transport: c.Transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	if line, _ := br.ReadString('\n'); !strings.Contains(line, `"bearer":true`) {
		t.Fatalf("first event: %q", line)
	}
	rest := make(chan streamRest, 1)
	go func() {
		b, err := io.ReadAll(br)
		rest <- streamRest{string(b), err}
	}()
	return rest
}

func mustEnd(t *testing.T, done <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatalf("the stream outlived %s by %v", what, within)
	}
}

// TestLogoutCutsLiveStreams: logout ends the session's open SSE stream on this replica
// and, through the store's announcement, on another replica.
func TestLogoutCutsLiveStreams(t *testing.T) {
	o := testenv.Options{Configure: withSSERoute(sseUpstream(t), nil)}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	other := e.AddReplica(t)
	e.Login(t, nil, "alice", "/")
	here := openStream(t, e, e.Client, e.Server.URL)
	there := openStream(t, e, e.Client, other.URL)
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	mustEnd(t, here, 2*time.Second, "logout on its replica")
	mustEnd(t, there, 3*time.Second, "logout on another replica")
}

// TestBackchannelLogoutCutsLiveStreams: the IdP ending the session cuts its stream.
func TestBackchannelLogoutCutsLiveStreams(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: withSSERoute(sseUpstream(t), nil)})
	c := e.NewClient(t)
	sub, sid := e.UserSID(t, c)
	done := openStream(t, e, c, e.Server.URL)
	tok, err := e.OP.LogoutToken(testenv.ClientID, sub, sid)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.PostLogoutToken(t, tok); r.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout: %d", r.StatusCode)
	}
	mustEnd(t, done, 2*time.Second, "back-channel logout")
}

// TestSessionExpiryCutsLiveStreams: a stream does not outlive its session's absolute
// timeout, while keeping the session alive past the idle timeout until then.
func TestSessionExpiryCutsLiveStreams(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: withSSERoute(sseUpstream(t), func(c *config.Config) {
		// The embedded store expires keys in 1 s steps: keep the idle timeout above that.
		c.Session.IdleTimeout = 1500 * time.Millisecond
		c.Session.AbsoluteTimeout = 3500 * time.Millisecond
	})})
	e.Login(t, nil, "alice", "/")
	start := time.Now()
	done := openStream(t, e, e.Client, e.Server.URL)
	mustEnd(t, done, 5*time.Second, "the absolute timeout")
	if time.Since(start) < 2*time.Second {
		t.Fatalf("the stream was cut after %v, before the absolute timeout (idle timeout: a stream is activity)", time.Since(start))
	}
}
