package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/wstest"
)

// heldSSE is an upstream that writes first, flushes, and holds the stream open until
// the proxy goes away. A non-empty encoding is sent as Content-Encoding.
func heldSSE(t *testing.T, first string, encoding ...string) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if len(encoding) > 0 {
			w.Header().Set("Content-Encoding", encoding[0])
		}
		io.WriteString(w, first)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
}

// openHeldSSE opens s1's stream, reads the n bytes the upstream wrote first, and returns
// a channel with the rest of the body and the error its read ended with.
func openHeldSSE(t *testing.T, f *fixture, n int) <-chan sseRest {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.front.URL+"/api/events", nil)
	req.Header.Set(sessionHeader, "s1")
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	// Once the first bytes are here, ModifyResponse has registered the stream.
	if _, err := io.ReadFull(resp.Body, make([]byte, n)); err != nil {
		t.Fatalf("the upstream's first bytes: %v", err)
	}
	rest := make(chan sseRest, 1)
	go func() {
		b, err := io.ReadAll(resp.Body)
		rest <- sseRest{string(b), err}
	}()
	return rest
}

type sseRest struct {
	body string
	err  error
}

func cleanEnd(t *testing.T, rest <-chan sseRest) string {
	t.Helper()
	r, _ := next(t, rest, "the end of the stream")
	if r.err != nil { // a missing final chunk reads as io.ErrUnexpectedEOF
		t.Fatalf("the stream did not end cleanly: %v (after %q)", r.err, r.body)
	}
	return r.body
}

// TestSSESessionEndEndsCleanlyWithAnEvent: a stream cut at its session's end, between two
// events, ends with the bff-session-ended event and the final chunk, which EventSource
// reads as a normal end (not a network error).
func TestSSESessionEndEndsCleanlyWithAnEvent(t *testing.T) {
	const first = "data: hello\n\n"
	f := newFixture(t, []Route{cfgRoute("/api/", heldSSE(t, first).URL)})
	rest := openHeldSSE(t, f, len(first))
	f.p.CloseSession("s1")
	want := "event: bff-session-ended\ndata: {\"reason\":\"session_ended\"}\n\n"
	if got := cleanEnd(t, rest); got != want {
		t.Fatalf("after the cut: %q, want %q", got, want)
	}
	eventually(t, "no live streams", func() bool { return f.p.LiveStreams() == 0 })
	if l := f.logs.String(); !strings.Contains(l, `msg="proxy: stream ended by the BFF" route=/api/ stream=sse reason=session_ended`) {
		t.Fatalf("no log line for the end:\n%s", l)
	}
}

// TestSSECutMidEventAddsNoEvent: a stream cut in the middle of an upstream event gets
// nothing injected into that event, and still ends cleanly.
func TestSSECutMidEventAddsNoEvent(t *testing.T) {
	for _, first := range []string{"data: par", "data: one\n", "data: one\r\n", "data: one\r"} {
		t.Run(strconv.Quote(first), func(t *testing.T) {
			f := newFixture(t, []Route{cfgRoute("/api/", heldSSE(t, first).URL)})
			rest := openHeldSSE(t, f, len(first))
			f.p.CloseSession("s1")
			if got := cleanEnd(t, rest); got != "" {
				t.Fatalf("injected %q into an unfinished event", got)
			}
		})
	}
}

// TestSSECompressedGetsNoEvent: in a compressed body, text would corrupt the stream: a
// cut only ends it. (Content-Encoding br passes Go's client undecoded.)
func TestSSECompressedGetsNoEvent(t *testing.T) {
	const first = "\x0b\x06\x80data: x\n\n" // brotli bytes that end like an event
	f := newFixture(t, []Route{cfgRoute("/api/", heldSSE(t, first, "br").URL)})
	rest := openHeldSSE(t, f, len(first))
	f.p.CloseAll()
	if got := cleanEnd(t, rest); got != "" {
		t.Fatalf("injected %q into a compressed body", got)
	}
}

// TestSSEShutdownEndsCleanlyWithARetryHint: at shutdown the stream ends with bff-shutdown
// and a reconnection delay, so that the browser comes back, to another replica.
func TestSSEShutdownEndsCleanlyWithARetryHint(t *testing.T) {
	const first = "data: hello\r\n\r\n"
	f := newFixture(t, []Route{cfgRoute("/api/", heldSSE(t, first).URL)})
	rest := openHeldSSE(t, f, len(first))
	f.p.CloseAll()
	got := cleanEnd(t, rest)
	m := regexp.MustCompile(`^retry: (\d+)\nevent: bff-shutdown\ndata: \{"reason":"shutdown"\}\n\n$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("after shutdown: %q", got)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < sseRetryMin || ms >= sseRetryMin+sseRetrySpread {
		t.Fatalf("retry %d ms", ms)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.p.WaitStreams(ctx); err != nil {
		t.Fatalf("WaitStreams: %v", err)
	}
}

// TestShutdownEndsStreamsWithoutASessionCleanly: a stream on an auth "none" route has no
// session to end with, but shutdown ends it cleanly too; it is neither a live stream of
// a session nor one the session sweep looks at.
func TestShutdownEndsStreamsWithoutASessionCleanly(t *testing.T) {
	const first = "data: hello\n\n"
	f := newFixture(t, []Route{cfgRoute("/api/", heldSSE(t, first).URL, func(r *Route) { r.Auth = AuthNone })})
	rest := openHeldSSE(t, f, len(first))
	if n, keys := f.p.LiveStreams(), f.p.StreamSessions(); n != 0 || len(keys) != 0 {
		t.Fatalf("LiveStreams = %d, StreamSessions = %q for a stream without a session", n, keys)
	}
	f.p.CloseAll()
	if got := cleanEnd(t, rest); !strings.Contains(got, "event: bff-shutdown\n") {
		t.Fatalf("after shutdown: %q", got)
	}
}

// wsUpstream upgrades, says "hi", and reports every frame it reads until the end.
func wsUpstream(t *testing.T) (*upstream, <-chan wstest.Frame) {
	frames := make(chan wstest.Frame, 16)
	return newUpstream(t, wstest.Greeter(frames)), frames
}

// dialWS opens s1's websocket through f and reads the upstream's greeting.
func dialWS(t *testing.T, f *fixture) *wstest.Conn {
	t.Helper()
	c, err := wstest.Dial(f.front.URL+"/api/ws", http.Header{sessionHeader: {"s1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if fr, err := c.ReadFrame(); err != nil || string(fr.Payload) != "hi" {
		t.Fatalf("greeting: %v %q", err, fr.Payload)
	}
	eventually(t, "the websocket to be tracked", func() bool { return f.p.LiveStreams() == 1 })
	return c
}

// closedWith checks the client gets an unmasked close frame with code, and the upstream
// a masked one with upCode, and nothing after it.
func closedWith(t *testing.T, c *wstest.Conn, upstream <-chan wstest.Frame, code, upCode uint16) {
	t.Helper()
	fr, err := c.AnswerClose()
	if err != nil || fr.CloseCode() != code || fr.Masked {
		t.Fatalf("the client got code %d masked %v (%q), %v; want close %d", fr.CloseCode(), fr.Masked, fr.CloseText(), err, code)
	}
	up, ok := next(t, upstream, "the upstream's close frame")
	if !ok || up.Opcode != wstest.OpClose || up.CloseCode() != upCode || !up.Masked {
		t.Fatalf("the upstream got opcode %d code %d masked %v, want a masked close %d", up.Opcode, up.CloseCode(), up.Masked, upCode)
	}
	if fr, ok := next(t, upstream, "the upstream's connection to end"); ok {
		t.Fatalf("the upstream got a frame after the close: opcode %d", fr.Opcode)
	}
}

// TestWebsocketShutdownSendsGoingAway: at shutdown both sides get close 1001 (going away),
// the upstream's masked as a client's must be.
func TestWebsocketShutdownSendsGoingAway(t *testing.T) {
	up, frames := wsUpstream(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	c := dialWS(t, f)
	f.p.CloseAll()
	closedWith(t, c, frames, 1001, 1001)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.p.WaitStreams(ctx); err != nil {
		t.Fatalf("WaitStreams: %v", err)
	}
}

// TestWebsocketSessionEndSendsPolicyViolation: at the session's end the client gets 1008
// "session ended" and the upstream a normal closure.
func TestWebsocketSessionEndSendsPolicyViolation(t *testing.T) {
	up, frames := wsUpstream(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	c := dialWS(t, f)
	if err := c.WriteFrame(wstest.OpText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if fr, _ := next(t, frames, "the client's frame"); string(fr.Payload) != "ping" {
		t.Fatalf("the upstream got %q", fr.Payload)
	}
	f.p.CloseSession("s1")
	closedWith(t, c, frames, 1008, 1000)
}

// TestWebsocketCloseWaitsForTheFrameInFlight: a cut in the middle of a frame, in either
// direction, puts the close frame after that frame's end, never inside it.
func TestWebsocketCloseWaitsForTheFrameInFlight(t *testing.T) {
	upConn, upPeer := net.Pipe()
	defer upPeer.Close()
	f := newFixture(t, nil)
	x := &exchange{route: &route{p: f.p, name: "ws"}, in: httptest.NewRequest(http.MethodGet, "/ws", nil)}
	x.begin(context.Background())
	c := newWSConn(upConn, x)
	c.grace = time.Hour // every wait below must end by what it waits for
	frames := make(chan wstest.Frame, 4)
	go func() {
		defer close(frames)
		for up := wstest.Server(upPeer); ; {
			fr, err := up.ReadFrame()
			if err != nil {
				return
			}
			frames <- fr
		}
	}()
	toUp := wstest.Encode(wstest.OpText, []byte("client to upstream"), true)
	toClient := wstest.Encode(wstest.OpText, []byte("upstream to client"), false)

	// Both directions are mid-frame when the cut comes.
	mustWrite(t, c, toUp[:9]) // header, masking key, 3 payload bytes
	go upPeer.Write(toClient[:5])
	got := make([]byte, 0, 64)
	got = readSome(t, c, got)

	x.cut(endSession)
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }() // as ReverseProxy does when the context ends
	eventually(t, "the close frame to wait for the client's frame", func() bool {
		c.upLock <- struct{}{}
		defer func() { <-c.upLock }()
		return c.upWhy != nil
	})
	mustWrite(t, c, toUp[9:])
	if fr, _ := next(t, frames, "the client's frame"); string(fr.Payload) != "client to upstream" {
		t.Fatalf("the upstream got %q", fr.Payload)
	}
	if fr, _ := next(t, frames, "the upstream's close frame"); fr.Opcode != wstest.OpClose || fr.CloseCode() != 1000 {
		t.Fatalf("the upstream got opcode %d code %d", fr.Opcode, fr.CloseCode())
	}

	// The rest of the frame comes with another one, which the client must not get once
	// the cut reached this direction (bytes read before that pass, as any would).
	eventually(t, "the cut to reach the upstream-to-client direction", func() bool { return c.downWhy.Load() != nil })
	go upPeer.Write(append(toClient[5:len(toClient):len(toClient)], wstest.Encode(wstest.OpText, []byte("late"), false)...))
	want := string(toClient) + string(endSession.closeFrame(1008, false))
	for len(got) < len(want) {
		got = readSome(t, c, got)
	}
	if string(got) != want {
		t.Fatalf("the client got %q, want %q", got, want)
	}
	mustWrite(t, c, wstest.Encode(wstest.OpClose, wstest.CloseFrame(1008, ""), true)) // the client's answer
	ended := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 8)); ended <- err }()
	if err, _ := next(t, ended, "Read to end after the client's answer"); err != errStreamEnded {
		t.Fatalf("after the close handshake Read: %v", err)
	}
	next(t, closed, "Close to return")
}

func mustWrite(t *testing.T, w io.Writer, p []byte) {
	t.Helper()
	if n, err := w.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

// readSome appends one Read of r to got.
func readSome(t *testing.T, r io.Reader, got []byte) []byte {
	t.Helper()
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return append(got, buf[:n]...)
}

// TestWaitStreamsWaitsForTheCloseHandshake: shutdown waits for a cut websocket's clean
// end (its connection is hijacked: http.Server.Shutdown does not wait for it), which
// lasts until the client answers the close frame.
func TestWaitStreamsWaitsForTheCloseHandshake(t *testing.T) {
	up, frames := wsUpstream(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	c := dialWS(t, f)
	f.p.CloseAll()
	over, cancel := context.WithCancel(context.Background())
	cancel()
	// The client has not answered, and wsGrace (1 s) has not passed.
	if err := f.p.WaitStreams(over); err == nil {
		t.Fatal("WaitStreams returned while the websocket was still closing")
	}
	closedWith(t, c, frames, 1001, 1001)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.p.WaitStreams(ctx); err != nil {
		t.Fatalf("WaitStreams after the close handshake: %v", err)
	}
}
