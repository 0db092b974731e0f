package bff_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/problem"
)

// served is a BFF run by Serve on real listeners (the stack `bff serve` runs), with a
// route /open/ (auth none) to a recording upstream.
type served struct {
	addr     string
	upstream *testenv.Upstream
}

func startServed(t *testing.T, edit func(*config.Config)) served {
	t.Helper()
	e := testenv.Start(t, testenv.Options{})
	cfg := e.Config
	cfg.Routes = append([]config.Route{config.Route{Path: "/open/", Upstream: e.Upstream.URL, Auth: "none"}.WithDefaults()}, cfg.Routes...)
	if edit != nil {
		edit(&cfg)
	}
	srv, err := bff.New(context.Background(), cfg, bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return served{addr: testenv.Serve(t, srv), upstream: e.Upstream}
}

// rawResult is what came back on one raw connection.
type rawResult struct {
	responses []*http.Response
	bodies    []string
	closed    bool // the server closed the connection (EOF or reset)
}

// rawExchange writes each payload byte for byte on one fresh connection, waiting for
// the responses to all but the last (a keep-alive client, not a pipelining one), and
// then reads until the server closes the connection; the deadline is only a bound for a
// server that never does.
func rawExchange(t *testing.T, addr string, payloads ...string) rawResult {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	var res rawResult
	for i, p := range payloads {
		if _, err := io.WriteString(conn, p); err != nil {
			t.Fatalf("write: %v", err)
		}
		if i == len(payloads)-1 {
			break
		}
		for range strings.Count(p, "\r\nHost: app\r\n") { // one per request (the decoys have no Host)
			if !res.read(br) {
				t.Fatalf("no response on a kept-alive connection (so far %v)", res.statuses())
			}
		}
	}
	for res.read(br) {
	}
	_, err = br.ReadByte()
	res.closed = errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
	return res
}

// read reads one response; false when there is none (the connection ended).
func (r *rawResult) read(br *bufio.Reader) bool {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false
	}
	b, _ := io.ReadAll(resp.Body)
	r.responses = append(r.responses, resp)
	r.bodies = append(r.bodies, string(b))
	return true
}

func (r rawResult) statuses() []int {
	var s []int
	for _, resp := range r.responses {
		s = append(s, resp.StatusCode)
	}
	return s
}

// smuggled is a complete request hidden where a front proxy framing by the other
// length field would see body bytes.
const smuggled = "GET /open/smuggled HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\nX-Smuggled: 1\r\n\r\n"

// decoy is a body that looks like a request head framed two ways: inside a properly
// framed body it must change nothing.
const decoy = "POST /open/x HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"

// chunked frames s as one chunk and the last chunk.
func chunked(s string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(s), s) }

// TestRequestSmugglingByAmbiguousFramingIsRefused: a request framed by both
// Content-Length and Transfer-Encoding (in either order), by two Content-Lengths, or by
// Transfer-Encoding in HTTP/1.0 gets 400 problem+json and the connection is closed, so
// the request hidden behind it is never answered and never reaches an upstream. Go's
// server alone answers the first with 200 and then serves the hidden request.
func TestRequestSmugglingByAmbiguousFramingIsRefused(t *testing.T) {
	s := startServed(t, nil)
	post := "POST /open/a HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\n"
	tests := []struct {
		name     string
		payloads []string
		want     []int
	}{
		{name: "Content-Length then Transfer-Encoding",
			payloads: []string{post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled}, want: []int{400}},
		{name: "Transfer-Encoding then content-length",
			payloads: []string{post + "Transfer-Encoding: chunked\r\ncontent-length: 60\r\n\r\n0\r\n\r\n" + smuggled}, want: []int{400}},
		{name: "two identical Content-Lengths",
			payloads: []string{post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc" + smuggled}, want: []int{400}},
		{name: "Transfer-Encoding in HTTP/1.0 on a kept-alive connection",
			payloads: []string{"POST /open/a HTTP/1.0\r\nHost: app\r\nX-CSRF: 1\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled}, want: []int{400}},
		{name: "the third request on a kept-alive connection, after bodies that look like such heads",
			payloads: []string{post + "Transfer-Encoding: chunked\r\n\r\n" + chunked(decoy) +
				post + "Content-Length: " + strconv.Itoa(len(decoy)) + "\r\n\r\n" + decoy,
				post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
			want: []int{200, 200, 400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rawExchange(t, s.addr, tt.payloads...)
			if !slices.Equal(res.statuses(), tt.want) || !res.closed {
				t.Fatalf("statuses %v, closed %v; want %v then the connection closed", res.statuses(), res.closed, tt.want)
			}
			last := res.responses[len(res.responses)-1]
			var p struct{ Type problem.Type }
			if last.Header.Get("Content-Type") != problem.ContentType || json.Unmarshal([]byte(res.bodies[len(res.bodies)-1]), &p) != nil || p.Type != problem.BadRequest {
				t.Errorf("the refusal is %q %q, want problem+json bad_request", last.Header.Get("Content-Type"), res.bodies[len(res.bodies)-1])
			}
			if !last.Close {
				t.Error("the refusal must say Connection: close")
			}
			for _, h := range s.upstream.Seen() {
				if h.Get("X-Smuggled") != "" {
					t.Fatal("the smuggled request reached the upstream")
				}
			}
		})
	}
}

// TestGoRefusesOtherBadFraming pins what Go's server already refuses on its own (and so
// the BFF does not re-check): conflicting Content-Lengths (400), a Transfer-Encoding
// other than exactly chunked or given twice (501); each closes the connection.
func TestGoRefusesOtherBadFraming(t *testing.T) {
	s := startServed(t, nil)
	post := "POST /open/a HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\n"
	for _, tt := range []struct {
		name, payload string
		want          int
	}{
		{"conflicting Content-Lengths", post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd" + smuggled, 400},
		{"a list of Content-Lengths", post + "Content-Length: 3, 3\r\n\r\nabc" + smuggled, 400},
		{"gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled, 501},
		{"two Transfer-Encodings", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 501},
		{"identity", post + "Transfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc" + smuggled, 501},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := rawExchange(t, s.addr, tt.payload)
			if !slices.Equal(res.statuses(), []int{tt.want}) || !res.closed {
				t.Fatalf("statuses %v, closed %v; want [%d] then the connection closed", res.statuses(), res.closed, tt.want)
			}
		})
	}
}

// TestWellFramedKeepAliveIsUntouched: the framing watch adds no false refusal and no
// needless close on a kept-alive connection carrying chunked and Content-Length bodies
// whose content looks like request heads.
func TestWellFramedKeepAliveIsUntouched(t *testing.T) {
	s := startServed(t, nil)
	post := "POST /open/a HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\n"
	payload := post + "Transfer-Encoding: chunked\r\n\r\n" + "3;ext=1\r\nabc\r\n" + chunked(decoy) +
		post + "Content-Length: " + strconv.Itoa(len(decoy)) + "\r\n\r\n" + decoy +
		"GET /open/b HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\nConnection: close\r\n\r\n"
	res := rawExchange(t, s.addr, payload)
	if !slices.Equal(res.statuses(), []int{200, 200, 200}) {
		t.Fatalf("statuses %v, want three 200s (bodies %q)", res.statuses(), res.bodies)
	}
	for i, resp := range res.responses[:2] {
		if resp.Close {
			t.Errorf("response %d closes a well-framed kept-alive connection", i)
		}
	}
}

// TestOversizedBFFBodyIsRefusedAtOnce: a /bff/* request declaring a body over 64 KiB gets
// 413 problem+json before its body is read (the JSON endpoints take none, a back-channel
// logout form is one token), and the connection is closed.
func TestOversizedBFFBodyIsRefusedAtOnce(t *testing.T) {
	s := startServed(t, nil)
	for _, path := range []string{"/bff/backchannel-logout", "/bff/logout"} {
		t.Run(path, func(t *testing.T) {
			// Only the head and a few bytes are sent: an endpoint that waited for the body
			// would hang until the bound.
			res := rawExchange(t, s.addr, "POST "+path+" HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1048576\r\n\r\nlogout_token=")
			if !slices.Equal(res.statuses(), []int{413}) || !res.closed {
				t.Fatalf("statuses %v, closed %v; want [413] and closed", res.statuses(), res.closed)
			}
			if ct := res.responses[0].Header.Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("content type %q, want problem+json", ct)
			}
		})
	}
}

// TestHeaderBytesLimitIsTheSetting: server.maxHeaderBytes bounds request heads on the
// public listener; a head over it gets 431.
func TestHeaderBytesLimitIsTheSetting(t *testing.T) {
	big := strings.Repeat("a", 20<<10)
	head := func(addr string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/open/x", nil)
		req.Header.Set("X-CSRF", "1")
		req.Header.Set("X-Big", big)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := head(startServed(t, nil).addr); got != http.StatusOK {
		t.Errorf("a 20 KiB head under the 64 KiB default got %d, want 200", got)
	}
	small := startServed(t, func(c *config.Config) { c.Server.MaxHeaderBytes = 16 << 10 })
	if got := head(small.addr); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 20 KiB head with server.maxHeaderBytes 16 KiB got %d, want 431", got)
	}
	big = strings.Repeat("a", 80<<10)
	if got := head(startServed(t, nil).addr); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("an 80 KiB head under the 64 KiB default got %d, want 431", got)
	}
}

// TestConnectionTheWatchCannotFollowIsClosed: a request Go accepts but whose framing the
// watch cannot follow (here a Content-Length padded past what it reads of a line) is
// answered, and the connection is then closed rather than trusted for another request.
func TestConnectionTheWatchCannotFollowIsClosed(t *testing.T) {
	s := startServed(t, nil)
	res := rawExchange(t, s.addr, "POST /open/a HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\nContent-Length:"+strings.Repeat(" ", 100)+"3\r\n\r\nabc"+smuggled)
	if !slices.Equal(res.statuses(), []int{200}) || !res.closed || !res.responses[0].Close {
		t.Fatalf("statuses %v, closed %v; want [200] with Connection: close, then closed", res.statuses(), res.closed)
	}
}

// TestUpgradeHeaderCannotKeepAnUnframedConnectionOpen: once the watch lost a connection's
// framing (here a Content-Length line padded past what it reads), a request framed two
// ways that merely says "Upgrade: x" must still be answered with Connection: close, so
// the request hidden in its body is never served. (It used to skip the close for any
// Upgrade header: the opener, the ambiguous request AND the smuggled one were served.)
func TestUpgradeHeaderCannotKeepAnUnframedConnectionOpen(t *testing.T) {
	s := startServed(t, nil)
	opener := "POST /open/a HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\nUpgrade: x\r\nContent-Length:" +
		strings.Repeat(" ", 100) + "3\r\n\r\nabc"
	ambiguous := "POST /open/b HTTP/1.1\r\nHost: app\r\nX-CSRF: 1\r\nUpgrade: x\r\n" +
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
	// One write: the connection is closed after the first answer, and a second write
	// could then fail on its own.
	res := rawExchange(t, s.addr, opener+ambiguous)
	if len(res.responses) != 1 || !res.closed {
		t.Fatalf("statuses %v, closed %v; want the opener's answer only (a route refuses its Upgrade: 400), then the connection closed", res.statuses(), res.closed)
	}
	for _, resp := range res.responses {
		if !resp.Close {
			t.Fatalf("statuses %v: every answer on an unframed connection must say Connection: close", res.statuses())
		}
	}
	for _, h := range s.upstream.Seen() {
		if h.Get("X-Smuggled") != "" {
			t.Fatal("the smuggled request reached the upstream")
		}
	}
}
