package e2e

import (
	"bufio"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
)

// requestLines returns the access-log lines ("msg=request") of request id in logs.
func requestLines(logs *logbuf.Buffer, id string) []string {
	var out []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "msg=request ") && strings.Contains(l, "request_id="+id+" ") {
			out = append(out, l)
		}
	}
	return out
}

// waitFor polls cond until it holds; the deadline only bounds a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// onlyLine waits for request id's access-log line, lets every handler of the BFF's
// listener finish (Close waits for them), and returns the line, failing unless it is the
// only one.
func onlyLine(t *testing.T, e *testenv.Env, logs *logbuf.Buffer, id string) string {
	t.Helper()
	waitFor(t, "the access-log line of "+id, func() bool { return len(requestLines(logs, id)) > 0 })
	e.Server.Close()
	lines := requestLines(logs, id)
	if len(lines) != 1 {
		t.Fatalf("%d access-log lines for one request, want exactly 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	return lines[0]
}

// TestBrowserClosedSSEStreamIsLoggedAndCounted: an SSE stream ends when the browser
// closes it (the upstream writes events forever). ReverseProxy then aborts the handler
// with a panic (http.ErrAbortHandler); the stream must still get its one access-log line,
// with the status that was sent, and its count in bff_http_requests_total: an SRE must
// see the streams the BFF served.
func TestBrowserClosedSSEStreamIsLoggedAndCounted(t *testing.T) {
	logs := &logbuf.Buffer{}
	e := testenv.Start(t, testenv.Options{Log: logs, Configure: withSSERoute(sseUpstream(t), nil)})
	e.Login(t, nil, "alice", "/")
	req, _ := http.NewRequest(http.MethodGet, e.URL("/sse/events"), nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set("X-Request-Id", "sse-closed-by-browser")
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !bufio.NewScanner(resp.Body).Scan() || resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d, no first event", resp.StatusCode)
	}
	resp.Body.Close() // the browser leaves (EventSource.close, a closed tab)

	line := onlyLine(t, e, logs, "sse-closed-by-browser")
	for _, want := range []string{"status=200", "route=/sse/", "client_closed=true", "path=/sse/events"} {
		if !strings.Contains(line, want) {
			t.Errorf("access-log line lacks %s: %s", want, line)
		}
	}
	text := e.Scrape(t)
	if got := testenv.MetricValue(t, text, `bff_http_requests_total{code="200",method="GET",route="/sse/"}`); got != "1" {
		t.Fatalf("bff_http_requests_total of the stream = %s, want 1", got)
	}
	if strings.Contains(text, `bff_http_request_duration_seconds_count{method="GET",route="/sse/"}`) {
		t.Error("a stream's life was observed as a request duration")
	}
}

// TestBrowserClosedWebsocketIsLoggedAndCounted: a websocket the browser closes gets one
// access-log line and one count, with the 101 that was sent (ReverseProxy writes it on
// the hijacked connection, past echo's response).
func TestBrowserClosedWebsocketIsLoggedAndCounted(t *testing.T) {
	up := httptest.NewServer(websocket.Handler(func(ws *websocket.Conn) { _, _ = io.Copy(ws, ws) }))
	t.Cleanup(up.Close)
	logs := &logbuf.Buffer{}
	e := testenv.Start(t, testenv.Options{Log: logs, Configure: func(c *config.Config) {
		c.Routes = append(c.Routes, config.Route{Path: "/ws/", Upstream: up.URL, Auth: "none"})
	}})
	cfg, err := websocket.NewConfig("wss"+strings.TrimPrefix(e.Server.URL, "https")+"/ws/echo", e.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TlsConfig = &tls.Config{RootCAs: e.Server.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	cfg.Header = http.Header{"X-Request-Id": {"ws-closed-by-browser"}}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("dial through the BFF: %v", err)
	}
	var echoed string
	if err := websocket.Message.Send(ws, "hi"); err != nil {
		t.Fatal(err)
	}
	if err := websocket.Message.Receive(ws, &echoed); err != nil || echoed != "hi" {
		t.Fatalf("echo %q, %v", echoed, err)
	}
	ws.Close()

	// Close does not wait for a hijacked connection's handler: the metric, counted just
	// before the line, is checked after the line appeared.
	waitFor(t, "the websocket's access-log line", func() bool { return len(requestLines(logs, "ws-closed-by-browser")) > 0 })
	lines := requestLines(logs, "ws-closed-by-browser")
	if len(lines) != 1 || !strings.Contains(lines[0], "status=101") || !strings.Contains(lines[0], "route=/ws/") {
		t.Fatalf("access-log lines of the websocket, want one with status=101:\n%s", strings.Join(lines, "\n"))
	}
	text := e.Scrape(t)
	if got := testenv.MetricValue(t, text, `bff_http_requests_total{code="101",method="GET",route="/ws/"}`); got != "1" {
		t.Fatalf("bff_http_requests_total of the websocket = %s, want 1", got)
	}
	if strings.Contains(text, `bff_http_request_duration_seconds_count{method="GET",route="/ws/"}`) {
		t.Error("a websocket's life was observed as a request duration")
	}
}

// TestOrdinaryRequestIsLoggedOnce: the abort path adds no second line to a request that
// ends normally, and says nothing of a client closing.
func TestOrdinaryRequestIsLoggedOnce(t *testing.T) {
	logs := &logbuf.Buffer{}
	e := testenv.Start(t, testenv.Options{Log: logs})
	e.Login(t, nil, "alice", "/")
	req, _ := http.NewRequest(http.MethodGet, e.URL("/api/x"), nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set("X-Request-Id", "plain-api-call")
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	line := onlyLine(t, e, logs, "plain-api-call")
	if !strings.Contains(line, "status=200") || strings.Contains(line, "client_closed") || strings.Contains(line, "aborted") {
		t.Fatalf("access-log line: %s", line)
	}
	if got := testenv.MetricValue(t, e.Scrape(t), `bff_http_requests_total{code="200",method="GET",route="/api/"}`); got != "1" {
		t.Fatalf("bff_http_requests_total = %s, want 1", got)
	}
}
