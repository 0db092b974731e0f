package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/problem"
)

// throttled yields size bytes in chunks, pausing between them: an upload on a slow link.
type throttled struct {
	left, chunk int
	pause       time.Duration
}

func (r *throttled) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause) // the link's rate: the point of the reader, not a wait for an event
	n := min(len(p), r.chunk, r.left)
	for i := range p[:n] {
		p[i] = 'u'
	}
	r.left -= n
	return n, nil
}

// slowUpload is 2 MiB sent at about 4 MiB/s: about half a second, longer than the 200 ms
// route timeout of these tests.
func slowUpload() *throttled {
	return &throttled{left: 2 << 20, chunk: 64 << 10, pause: 15 * time.Millisecond}
}

// upload POSTs body to path, declaring size as its Content-Length (-1: chunked), and
// returns the response with its body and the error that ended reading it.
func (f *fixture) upload(t *testing.T, path string, body io.Reader, size int64) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.front.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// shortTimeout: a 200 ms route timeout (the upload idle timeout a generous 5 s), no
// body bound, no session.
func shortTimeout(r *Route) {
	r.Auth, r.MaxRequestBody = AuthNone, 0
	r.Timeout, r.UploadIdleTimeout = 200*time.Millisecond, 5*time.Second
}

// shortUploadIdle: a 200 ms upload idle timeout (the route timeout a generous 5 s), no
// body bound, no session.
func shortUploadIdle(r *Route) {
	r.Auth, r.MaxRequestBody = AuthNone, 0
	r.Timeout, r.UploadIdleTimeout = 5*time.Second, 200*time.Millisecond
}

// TestSlowUploadLongerThanTheTimeoutArrivesWhole: the route timeout counts from the
// request sent whole, so an upload that takes longer than it reaches the upstream whole
// and the client gets the upstream's answer (it used to be a 504 and a truncated body).
func TestSlowUploadLongerThanTheTimeoutArrivesWhole(t *testing.T) {
	up, got := recordingBodies(t)
	for _, tt := range []struct {
		name string
		body io.Reader
	}{
		{name: "Content-Length", body: slowUpload()},
		{name: "chunked", body: noLength{slowUpload()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortTimeout)})
			size := int64(-1)
			if _, ok := tt.body.(*throttled); ok {
				size = 2 << 20
			}
			resp, body, _ := f.upload(t, "/api/upload", tt.body, size)
			if resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Fatalf("status %d %q, want the upstream's 200 ok", resp.StatusCode, body)
			}
			if o := <-got; o.err != nil || o.n != 2<<20 {
				t.Fatalf("the upstream read %d bytes (err %v), want the whole 2 MiB", o.n, o.err)
			}
		})
	}
}

// TestMovingUploadOutlastsTheIdleTimeout: uploadIdleTimeout bounds pauses, not the
// upload: one that takes longer than it but never pauses that long arrives whole.
func TestMovingUploadOutlastsTheIdleTimeout(t *testing.T) {
	up, got := recordingBodies(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortUploadIdle)})
	resp, body, _ := f.upload(t, "/api/upload", slowUpload(), 2<<20)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("status %d %q, want the upstream's 200 ok", resp.StatusCode, body)
	}
	if o := <-got; o.err != nil || o.n != 2<<20 {
		t.Fatalf("the upstream read %d bytes (err %v), want the whole 2 MiB", o.n, o.err)
	}
}

// TestHeaderTimeoutStartsWhenTheBodyIsSent: an upstream that takes the whole slow body
// and then does not answer gets 504 once the route timeout has passed after the body.
func TestHeaderTimeoutStartsWhenTheBodyIsSent(t *testing.T) {
	read := make(chan int64, 1)
	up := newUpstream(t, nil)
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		read <- n
		<-r.Context().Done() // never answers: the proxy gives up
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortTimeout)})
	resp, body, _ := f.upload(t, "/api/upload", slowUpload(), 2<<20)
	if n := <-read; n != 2<<20 {
		t.Fatalf("the upstream read %d bytes before the timeout, want the whole body", n)
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d %q, want 504", resp.StatusCode, body)
	}
	if typ, _ := problemBody(t, resp, body); typ != problem.UpstreamUnavailable {
		t.Fatalf("problem %q, want upstream_unavailable", typ)
	}
}

// TestStalledUploadIs408AndAbortedUpstream: a client that stops sending its body for the
// route's uploadIdleTimeout gets 408 problem+json and a closed connection; the upstream,
// which had the head and part of the body, sees the body fail, never a clean end.
func TestStalledUploadIs408AndAbortedUpstream(t *testing.T) {
	for _, framing := range []string{"Content-Length", "chunked"} {
		t.Run(framing, func(t *testing.T) {
			up, got := recordingBodies(t)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortUploadIdle)})
			expectStalled(t, stallingUpload(t, f.front.Listener.Addr().String(), framing))
			select {
			case o := <-got:
				if o.err == nil {
					t.Fatalf("the upstream read a complete body of %d bytes from a stalled upload", o.n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the upstream never saw the request")
			}
		})
	}
}

// TestStalledReplayableBodyIs408: a small body that is read whole before it goes
// upstream (so that a 401 can be retried) is bounded the same way, and nothing is sent.
func TestStalledReplayableBodyIs408(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortUploadIdle, func(r *Route) { r.Auth = AuthRequired })})
	expectStalled(t, stallingUpload(t, f.front.Listener.Addr().String(), "buffered"))
	if n := up.hits.Load(); n != 0 {
		t.Fatalf("the upstream saw %d request(s) of a stalled body", n)
	}
}

func expectStalled(t *testing.T, conn net.Conn) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Fatalf("status %d (close %v) %q, want 408 closing the connection", resp.StatusCode, resp.Close, body)
	}
	if typ, _ := problemBody(t, resp, body); typ != problem.BadRequest {
		t.Fatalf("problem %q, want bad_request", typ)
	}
}

// stallingUpload sends a POST announcing 1 MiB (or chunked), 128 KiB of it, then
// nothing; "buffered" announces 32 KiB with a session and sends 1 KiB of it.
func stallingUpload(t *testing.T, addr, framing string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound for a broken test only
	part := strings.Repeat("s", 128<<10)
	head := "POST /api/upload HTTP/1.1\r\nHost: app.example.com\r\n"
	switch framing {
	case "chunked":
		head += "Transfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(part)), 16) + "\r\n"
	case "buffered":
		part = part[:1<<10]
		head += sessionHeader + ": s1\r\nContent-Length: " + strconv.Itoa(32<<10) + "\r\n\r\n"
	default:
		head += "Content-Length: " + strconv.Itoa(1<<20) + "\r\n\r\n"
	}
	if _, err := io.WriteString(conn, head+part); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestUpstreamThatStopsReadingTheBodyIs504: when the upstream takes no byte of the body
// for uploadIdleTimeout while the client keeps sending, the upstream is at fault: 504.
func TestUpstreamThatStopsReadingTheBodyIs504(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, nil)
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // reads nothing: the socket buffers fill up (its server notices no abort)
	})
	t.Cleanup(func() { close(release) }) // before the upstream's Close, which waits for it
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortUploadIdle)})
	conn, err := net.DialTimeout("tcp", f.front.Listener.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound for a broken test only
	// The client writes on (its writes fail once the answered connection closes) while
	// the answer is read: a client library that stops at the failed write would hide it.
	go func() {
		_, _ = io.WriteString(conn, "POST /api/upload HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: "+strconv.Itoa(256<<20)+"\r\n\r\n")
		_, _ = io.Copy(conn, io.LimitReader(zeros{}, 256<<20))
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504", resp.StatusCode)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestStreamAfterASlowUploadOutlivesTheTimeout: an upstream that reads a slow body, then
// answers with an event stream lasting twice the route timeout: the timeout, started at
// the body's end, stops at the headers and never cuts the stream.
func TestStreamAfterASlowUploadOutlivesTheTimeout(t *testing.T) {
	const events = 20 // 20 × 20 ms: twice the 200 ms route timeout
	up := newUpstream(t, nil)
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for n := range events {
			fmt.Fprintf(w, "data: %d\n\n", n)
			_ = rc.Flush()
			time.Sleep(20 * time.Millisecond) // the stream's pace
		}
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, shortTimeout)})
	_, body, err := f.upload(t, "/api/events", slowUpload(), 2<<20)
	if err != nil || strings.Count(string(body), "data: ") != events {
		t.Fatalf("the stream ended early (%v): %q; logs %s", err, body, f.logs.String())
	}
}

// TestHeaderTimerIgnoresAnArmAfterTheAnswer: a body whose end is read after the response
// headers came (an upstream that answers early) must not start a timeout that would cut
// the response then streaming.
func TestHeaderTimerIgnoresAnArmAfterTheAnswer(t *testing.T) {
	var h headerTimer
	h.begin()
	if h.disarm() {
		t.Fatal("a timer never armed reports it fired")
	}
	h.arm(time.Hour, func() {})
	if h.running || h.t != nil {
		t.Fatal("the timer was armed after the attempt had its answer")
	}
	h.begin() // the next attempt arms again
	h.arm(time.Hour, func() {})
	if !h.running || h.disarm() {
		t.Fatal("a new attempt's timer did not arm, or reports it fired")
	}
}

// TestDeclaredLengthEndsTheBodyWithoutAnotherRead: once a body of declared length has
// been read, its end is answered without reading the client's body again, which the
// server may have drained and closed by then (once the response headers were written):
// that read would fail and abort the upstream request whose response is streaming.
func TestDeclaredLengthEndsTheBodyWithoutAnotherRead(t *testing.T) {
	x := &exchange{}
	x.begin(context.Background())
	defer x.end()
	out := httptest.NewRequest(http.MethodPost, "/api/upload", io.NopCloser(&drainedAfter{data: "abc"}))
	out.ContentLength = 3
	u := (&route{uploadIdle: time.Hour}).watchUpload(httptest.NewRecorder(), out, x)
	defer u.stop()
	if b, err := io.ReadAll(out.Body); err != nil || string(b) != "abc" {
		t.Fatalf("read %q, %v; want the 3 bytes and a clean end", b, err)
	}
}

// drainedAfter yields data, then fails as a body the server closed does.
type drainedAfter struct{ data string }

func (d *drainedAfter) Read(p []byte) (int, error) {
	if d.data == "" {
		return 0, http.ErrBodyReadAfterClose
	}
	n := copy(p, d.data)
	d.data = d.data[n:]
	return n, nil
}
