package e2e

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/internal/wstest"
)

// streamRoutes adds an SSE route (/sse/) and a websocket route (/ws/, to a wstest.Greeter
// reporting on frames) to o, both with the session's bearer.
func streamRoutes(t *testing.T, o *testenv.Options) <-chan wstest.Frame {
	frames := make(chan wstest.Frame, 16)
	ws := httptest.NewServer(wstest.Greeter(frames))
	t.Cleanup(ws.Close)
	o.Configure = withSSERoute(sseUpstream(t), func(c *config.Config) {
		c.Routes = append(c.Routes, config.Route{Path: "/ws/", Upstream: ws.URL})
	})
	return frames
}

// dialSessionWS opens a websocket at base with c's session cookie, as the SPA's page
// would (Origin: the public URL), and reads the upstream's greeting.
func dialSessionWS(t *testing.T, e *testenv.Env, c *http.Client, base string) *wstest.Conn {
	t.Helper()
	h := http.Header{"Origin": {e.PublicURL}}
	for _, ck := range c.Jar.Cookies(mustURL(e.Server.URL)) {
		h.Add("Cookie", ck.String())
	}
	tlsConf := &tls.Config{RootCAs: e.Server.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	conn, err := wstest.Dial(base+"/ws/live", h, tlsConf)
	if err != nil {
		t.Fatalf("websocket through the BFF: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if f, err := conn.ReadFrame(); err != nil || string(f.Payload) != "hi" {
		t.Fatalf("greeting: %q, %v", f.Payload, err)
	}
	return conn
}

// endedCleanly checks an SSE stream ended with its final chunk and returns what came
// after its first event.
func endedCleanly(t *testing.T, rest <-chan streamRest) string {
	t.Helper()
	select {
	case r := <-rest:
		if r.err != nil { // no final chunk: io.ErrUnexpectedEOF, EventSource's network error
			t.Fatalf("the stream did not end cleanly: %v", r.err)
		}
		return r.body
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	return ""
}

// wsClosedWith checks the client's websocket got close code (and answers it), and the
// upstream a masked close frame with upCode.
func wsClosedWith(t *testing.T, conn *wstest.Conn, frames <-chan wstest.Frame, code, upCode uint16) {
	t.Helper()
	f, err := conn.AnswerClose()
	if err != nil || f.CloseCode() != code {
		t.Fatalf("the client's websocket ended with code %d (%q), %v; want %d", f.CloseCode(), f.CloseText(), err, code)
	}
	select {
	case f := <-frames:
		if f.Opcode != wstest.OpClose || f.CloseCode() != upCode || !f.Masked {
			t.Fatalf("the upstream got opcode %d code %d masked %v, want a masked close %d", f.Opcode, f.CloseCode(), f.Masked, upCode)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream got no close frame")
	}
}

// TestLogoutEndsStreamsCleanly: a logout (here from the page's other tab) ends the
// session's SSE stream with bff-session-ended and the final chunk, and its websocket
// with close 1008 "session ended" (the upstream gets 1000).
func TestLogoutEndsStreamsCleanly(t *testing.T) {
	var o testenv.Options
	frames := streamRoutes(t, &o)
	e := testenv.Start(t, o)
	e.Login(t, nil, "alice", "/")
	rest := openStreamRest(t, e, e.Client, e.Server.URL)
	conn := dialSessionWS(t, e, e.Client, e.Server.URL)
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	const event = "event: bff-session-ended\ndata: {\"reason\":\"session_ended\"}\n\n"
	if body := endedCleanly(t, rest); !strings.HasSuffix(body, event) {
		t.Fatalf("the stream ended without %q: ...%q", event, body[max(0, len(body)-120):])
	}
	wsClosedWith(t, conn, frames, 1008, 1000)
}

// TestShutdownEndsStreamsCleanly: at shutdown (Serve's context ending) the SSE stream
// ends with bff-shutdown, a retry hint and the final chunk, the websocket with close 1001
// on both sides, and Serve returns once they are done.
func TestShutdownEndsStreamsCleanly(t *testing.T) {
	var o testenv.Options
	frames := streamRoutes(t, &o)
	testenv.SharedRedis(t, &o) // the served replica shares the session
	e := testenv.Start(t, o)
	e.Login(t, nil, "alice", "/")
	srv, err := bff.New(context.Background(), e.Config, bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := net.Listen("tcp", "127.0.0.1:0")
	adm, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, pub, adm) }()
	waitFor(t, "the replica to be ready", func() bool {
		r, err := http.Get("http://" + adm.Addr().String() + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	})
	base := "http://" + pub.Addr().String()
	rest := openStreamRest(t, e, e.Client, base)
	conn := dialSessionWS(t, e, e.Client, base)

	sigterm()
	body := endedCleanly(t, rest)
	if !regexp.MustCompile(`\nretry: \d+\nevent: bff-shutdown\ndata: \{"reason":"shutdown"\}\n\n$`).MatchString(body) {
		t.Fatalf("the stream ended without bff-shutdown: ...%q", body[max(0, len(body)-120):])
	}
	wsClosedWith(t, conn, frames, 1001, 1001)
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}
