package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// sseUpstream emits "data: n" events every 20 ms until the client goes away, then
// signals done.
func sseUpstream(t *testing.T, done chan<- struct{}) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- struct{}{} }()
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		rc := http.NewResponseController(w)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			fmt.Fprintf(w, "data: %d\n\n", n)
			if err := rc.Flush(); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
}

// events reads "data:" lines of an SSE body into a channel, closed at the end of the
// stream.
func events(body io.Reader) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		s := bufio.NewScanner(body)
		for s.Scan() {
			if line := s.Text(); strings.HasPrefix(line, "data: ") {
				ch <- line
			}
		}
	}()
	return ch
}

func openSSE(t *testing.T, f *fixture, session string) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.front.URL+"/api/events", nil)
	req.Header.Set(sessionHeader, session)
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET events: %d", resp.StatusCode)
	}
	return events(resp.Body), func() { cancel(); resp.Body.Close() }
}

func next[T any](t *testing.T, ch <-chan T, what string) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(3 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero, false
}

// ended drains ch and fails unless it is closed within 3 s.
func ended(t *testing.T, ch <-chan string, what string) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSSEEventsArriveBeforeUpstreamFinishes: each event is flushed at once, not when the
// (endless) response ends.
func TestSSEEventsArriveBeforeUpstreamFinishes(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		http.NewResponseController(w).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	evs, stop := openSSE(t, f, "s1")
	defer stop()
	if ev, _ := next(t, evs, "the first event while the upstream still runs"); ev != "data: first" {
		t.Fatalf("first event %q", ev)
	}
	if n := f.p.LiveStreams(); n != 1 {
		t.Fatalf("LiveStreams = %d while the stream runs, want 1", n)
	}
	close(release)
	if ev, _ := next(t, evs, "the second event"); ev != "data: second" {
		t.Fatalf("second event %q", ev)
	}
	if _, ok := next(t, evs, "the end of the stream"); ok {
		t.Fatal("stream did not end")
	}
	eventually(t, "the ended stream to be untracked", func() bool { return f.p.LiveStreams() == 0 })
}

// TestCloseSessionCutsSSE: after logout a session's open event stream, which still
// carries the old bearer upstream, must end; other sessions' streams go on.
func TestCloseSessionCutsSSE(t *testing.T) {
	done := make(chan struct{}, 2)
	up := sseUpstream(t, done)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	mine, stopMine := openSSE(t, f, "s1")
	defer stopMine()
	theirs, stopTheirs := openSSE(t, f, "s2")
	defer stopTheirs()
	next(t, mine, "s1's first event")
	next(t, theirs, "s2's first event")
	if a := up.last(t).Header.Get("Authorization"); a != "Bearer t1" {
		t.Fatalf("stream carried %q", a)
	}

	if n := f.p.CloseSession("nobody"); n != 0 {
		t.Fatalf("CloseSession(unknown) = %d", n)
	}
	if n := f.p.CloseSession("s1"); n != 1 {
		t.Fatalf("CloseSession(s1) = %d, want 1", n)
	}
	ended(t, mine, "s1's stream to end")
	next[struct{}](t, done, "the upstream to see s1's stream closed")
	if ev, ok := next(t, theirs, "s2's stream to go on"); !ok {
		t.Fatalf("s2's stream was cut too (%q)", ev)
	}
	eventually(t, "one live stream", func() bool { return f.p.LiveStreams() == 1 })

	stopTheirs()
	next[struct{}](t, done, "the upstream to see s2 leave")
	eventually(t, "no live streams", func() bool { return f.p.LiveStreams() == 0 })
}

func TestCloseAllCutsStreamsAndRefusesNewOnes(t *testing.T) {
	done := make(chan struct{}, 2)
	up := sseUpstream(t, done)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	evs, stop := openSSE(t, f, "s1")
	defer stop()
	next(t, evs, "the first event")
	f.p.CloseAll()
	ended(t, evs, "the stream to end")
	next[struct{}](t, done, "the upstream to see the stream closed")

	late, stopLate := openSSE(t, f, "s1")
	defer stopLate()
	ended(t, late, "a stream opened after CloseAll to end")
	eventually(t, "no live streams", func() bool { return f.p.LiveStreams() == 0 })
}

func TestStreamsWithoutBearerAreNotTracked(t *testing.T) {
	done := make(chan struct{}, 1)
	up := sseUpstream(t, done)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) { r.Auth = "none" })})
	evs, stop := openSSE(t, f, "s1")
	next(t, evs, "the first event")
	if n := f.p.LiveStreams(); n != 0 {
		t.Fatalf("LiveStreams = %d for a stream without a bearer", n)
	}
	stop()
	next[struct{}](t, done, "the upstream to see the client leave")
}

// TestWebsocketCarriesBearerAndIsCutWithItsSession: the upgrade passes through
// ReverseProxy with the injected bearer and without the browser's cookie; ending the
// session closes both sides of the tunnel.
func TestWebsocketCarriesBearerAndIsCutWithItsSession(t *testing.T) {
	upstreamDone := make(chan struct{}, 1)
	up := newUpstream(t, websocket.Handler(func(ws *websocket.Conn) {
		io.Copy(ws, ws) // echo until either side closes
		upstreamDone <- struct{}{}
	}).ServeHTTP)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})

	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(f.front.URL, "http")+"/api/ws", publicURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header = http.Header{
		sessionHeader:   {"s1"},
		"Cookie":        {sessionCookie + "=sealed-session-id"},
		"Authorization": {"Bearer from-the-browser"},
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer ws.Close()
	if err := websocket.Message.Send(ws, "hello"); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(3 * time.Second))
	var echo string
	if err := websocket.Message.Receive(ws, &echo); err != nil || echo != "hello" {
		t.Fatalf("echo = %q, %v", echo, err)
	}
	got := up.last(t)
	if a := got.Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer t1" {
		t.Fatalf("upstream handshake Authorization %q", a)
	}
	if c := got.Header.Get("Cookie"); c != "" {
		t.Fatalf("upstream handshake Cookie %q", c)
	}
	if n := f.p.LiveStreams(); n != 1 {
		t.Fatalf("LiveStreams = %d, want 1", n)
	}

	if n := f.p.CloseSession("s1"); n != 1 {
		t.Fatalf("CloseSession = %d, want 1", n)
	}
	if err := websocket.Message.Receive(ws, &echo); err == nil {
		t.Fatal("websocket still open after CloseSession")
	} else if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
		t.Fatal("websocket was not closed, the read timed out")
	}
	next[struct{}](t, upstreamDone, "the upstream side of the websocket to close")
	eventually(t, "no live streams", func() bool { return f.p.LiveStreams() == 0 })
}
