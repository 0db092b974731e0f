package e2e

// The hot path, measured and pinned down: an authenticated proxied request (echo → CSRF →
// proxy.Match → the credential source: cookie decode, ONE store round trip, AES-GCM open → Rewrite →
// upstream).
//
//   - BenchmarkProxy and BenchmarkProxyParallel put the whole bff.Server handler beside a
//     plain httputil.ReverseProxy with Rewrite, in the same run, against the same ~1 KiB
//     JSON upstream over the same transport settings, each request served by ServeHTTP into
//     an httptest.ResponseRecorder; the bff targets with the default session cache and
//     without it (-nocache). bff-redis* run only when BFF_TEST_REDIS_URL is set.
//     They never run in a plain `go test` (no -bench).
//   - TestOneStoreRoundTripPerProxiedRequest counts the Redis commands the BFF sends on the
//     wire (a RESP-parsing TCP relay in front of miniredis): exactly one EVALSHA per
//     proxied request whose token is still valid, with the session cache off;
//     TestSessionCacheReadsTheStoreAtMostOncePerTTL: at most one per cache TTL with it on.
//   - TestForgedSessionCookieFloodNeverReachesTheStore: requests a cross-site page or a
//     cookie forger can send cost no store round trip at all.
//
// docs/performance.md has the commands and the numbers; bench/ has the end-to-end harness.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// benchPayloadSize is the size of the upstream's JSON answer.
const benchPayloadSize = 1024

// benchTokenLifetime keeps the access token far from the refresh skew for the whole run:
// the hot path measured is the one without a refresh.
const benchTokenLifetime = time.Hour

// benchPayload returns a JSON document of exactly benchPayloadSize bytes.
func benchPayload() []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < benchPayloadSize-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item-%04d","ok":true}`, i, i)
	}
	b.WriteString(`],"pad":"`)
	b.WriteString(strings.Repeat("x", benchPayloadSize-b.Len()-2))
	b.WriteString(`"}`)
	return []byte(b.String())
}

// newBenchUpstream serves benchPayload on every path.
func newBenchUpstream(tb testing.TB) *httptest.Server {
	body := benchPayload()
	size := strconv.Itoa(len(body))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", size)
		_, _ = w.Write(body)
	}))
	tb.Cleanup(up.Close)
	return up
}

// benchTransport has the settings of the BFF's own upstream transport
// (proxy.newUpstreamTransport): both sides of a comparison get one of these.
func benchTransport(tb testing.TB) *http.Transport {
	t := &http.Transport{
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    128,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,
	}
	tb.Cleanup(t.CloseIdleConnections)
	return t
}

// benchTarget is one side of a comparison: a handler and the request it is sent (cloned
// for every iteration, as a server makes a new request per call).
type benchTarget struct {
	handler  http.Handler
	template *http.Request
}

// serve sends one request; anything but a full 200 is an error (a benchmark of a 401
// would measure the wrong path).
func (bt benchTarget) serve(ctx context.Context) error {
	w := httptest.NewRecorder()
	bt.handler.ServeHTTP(w, bt.template.Clone(ctx))
	if w.Code != http.StatusOK || w.Body.Len() != benchPayloadSize {
		return fmt.Errorf("%s: status %d, %d bytes: %.200s", bt.template.URL.Path, w.Code, w.Body.Len(), w.Body.String())
	}
	return nil
}

// plainTarget is the baseline: httputil.ReverseProxy with Rewrite (strip /api, SetURL,
// SetXForwarded), nothing else.
func plainTarget(tb testing.TB, upstream string) benchTarget {
	u, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, "/api")
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport: benchTransport(tb),
	}
	return benchTarget{handler: rp, template: benchRequest(tb, "https://app.example.test", nil)}
}

// Session store settings of the bff targets (applied after the defaults).
var (
	embeddedStore = func(c *config.Config) { c.Session.Store, c.Session.RedisURL = "", "" }
	redisStore    = func(c *config.Config) { c.Session.Store, c.Session.RedisURL = "redis", testenv.RedisURL() }
	noCache       = func(c *config.Config) { c.Session.CacheTTL = 0 }
	compact       = func(c *config.Config) { c.Session.RecordFormat = "compact" }
)

// bffTarget starts a whole stack (OP, BFF) configured by settings, routes /api/ to
// upstream, logs alice in and returns the BFF's handler with a request carrying her
// session cookie and the CSRF header.
func bffTarget(tb testing.TB, upstream string, settings ...func(*config.Config)) benchTarget {
	e := testenv.Start(tb, testenv.Options{
		AccessTokenLifetime: benchTokenLifetime,
		Configure: func(c *config.Config) {
			for _, set := range settings {
				set(c)
			}
			c.Routes = []config.Route{{Path: "/api/", Upstream: upstream, StripPrefix: "/api"}}
		},
		BFFOptions: []bff.Option{
			bff.WithUpstreamTransport(benchTransport(tb)),
			// Production logs at info; the access log line's cost is measured by the
			// harness (bench/run -log-level), not here.
			bff.WithLogger(slog.New(slog.DiscardHandler)),
		},
	})
	e.Login(tb, nil, "alice", "/")
	tb.Cleanup(func() { // leave no session behind in a shared Redis
		if r := e.Do(tb, nil, http.MethodPost, "/bff/logout", nil); r != nil {
			r.Body.Close()
		}
	})
	return benchTarget{
		handler:  e.BFF.Handler(),
		template: benchRequest(tb, e.Server.URL, jarCookies(tb, e)),
	}
}

// jarCookies are the cookies e's client holds for the BFF (after Login: the session).
func jarCookies(tb testing.TB, e *testenv.Env) []*http.Cookie {
	u, err := url.Parse(e.Server.URL)
	if err != nil {
		tb.Fatal(err)
	}
	return e.Client.Jar.Cookies(u)
}

// benchRequest is what a well-behaved SPA sends: GET /api/items/42 with the CSRF header
// and the cookies.
func benchRequest(tb testing.TB, origin string, cookies []*http.Cookie) *http.Request {
	r, err := http.NewRequest(http.MethodGet, origin+"/api/items/42?expand=owner", nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.Header.Set("Accept", "application/json")
	r.Header.Set("X-CSRF", "1")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	if len(cookies) == 0 {
		r.Header.Set("Cookie", "__Host-bff=not-a-session") // the same header bytes, roughly
	}
	return r
}

// benchTargets runs fn for every target of the comparison, each as a sub-benchmark. The
// bff targets run with the default session cache (one session's repeated calls are served
// from it) and, as -nocache, without it (every call reads the store); on Redis also with
// the compact record format (-compact; the default writes JSON).
func benchTargets(b *testing.B, fn func(b *testing.B, bt benchTarget)) {
	up := newBenchUpstream(b)
	b.Run("plain-reverseproxy", func(b *testing.B) { fn(b, plainTarget(b, up.URL)) })
	b.Run("bff-embedded", func(b *testing.B) { fn(b, bffTarget(b, up.URL, embeddedStore)) })
	b.Run("bff-embedded-nocache", func(b *testing.B) { fn(b, bffTarget(b, up.URL, embeddedStore, noCache)) })
	if testenv.RedisURL() != "" {
		b.Run("bff-redis", func(b *testing.B) { fn(b, bffTarget(b, up.URL, redisStore)) })
		b.Run("bff-redis-nocache", func(b *testing.B) { fn(b, bffTarget(b, up.URL, redisStore, noCache)) })
		b.Run("bff-redis-compact", func(b *testing.B) { fn(b, bffTarget(b, up.URL, redisStore, compact)) })
		b.Run("bff-redis-nocache-compact", func(b *testing.B) { fn(b, bffTarget(b, up.URL, redisStore, noCache, compact)) })
	}
}

// BenchmarkProxy: one request at a time (latency and allocations per request). A
// server's request context is always cancellable, which costs the transport a little:
// every side gets one.
func BenchmarkProxy(b *testing.B) {
	benchTargets(b, func(b *testing.B, bt benchTarget) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := bt.serve(ctx); err != nil { // warm: connections, the store's script cache
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := bt.serve(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProxyParallel: 64 requests in flight (32 per GOMAXPROCS on the 2-core bench
// machine), the concurrency of the harness's -conns 64; store round trips overlap.
func BenchmarkProxyParallel(b *testing.B) {
	benchTargets(b, func(b *testing.B, bt benchTarget) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := bt.serve(ctx); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := bt.serve(ctx); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
			}
		})
	})
}

// TestOneStoreRoundTripPerProxiedRequest: with the session cache off, a proxied request
// whose access token is still valid costs exactly ONE Redis command on the wire, an
// EVALSHA of the get script (which also slides the idle timeout): no separate TTL update,
// no index read, no lock. Counted at the protocol level, so a pipeline of two commands
// would count as two. miniredis's own CommandCount would not do: it also counts the
// commands the Lua script runs inside.
func TestOneStoreRoundTripPerProxiedRequest(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   string
	}{
		{name: "GET", method: http.MethodGet},
		{name: "POST with a JSON body", method: http.MethodPost, body: `{"qty":1}`},
		{name: "DELETE", method: http.MethodDelete},
	}
	const perCase = 10
	e, wire := startCountedStack(t, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mark := wire.mark()
			for range perCase {
				proxiedCall(t, e, tc.method, tc.body)
			}
			expectOnlyEvalSHA(t, wire.since(mark), perCase, perCase)
		})
	}
	expectNoRefresh(t, e)
}

// TestSessionCacheReadsTheStoreAtMostOncePerTTL: with session.cacheTTL (the default
// configuration), a burst of one session's API calls inside the TTL costs at most one
// store read, and the first call after the TTL reads (and slides) the record again: never
// more than one round trip for a request.
func TestSessionCacheReadsTheStoreAtMostOncePerTTL(t *testing.T) {
	const ttl = 300 * time.Millisecond
	tests := []struct {
		name     string
		wait     time.Duration // before the calls
		calls    int
		min, max int // EVALSHAs the calls may send
	}{
		{name: "a burst inside the TTL", calls: 10, min: 0, max: 1},
		{name: "the first call after the TTL reads the store", wait: ttl + 100*time.Millisecond, calls: 1, min: 1, max: 1},
	}
	e, wire := startCountedStack(t, ttl)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(tc.wait)
			mark := wire.mark()
			for range tc.calls {
				proxiedCall(t, e, http.MethodGet, "")
			}
			expectOnlyEvalSHA(t, wire.since(mark), tc.min, tc.max)
		})
	}
	expectNoRefresh(t, e)
}

// proxiedCall sends one API call with e's session and wants a 200.
func proxiedCall(t *testing.T, e *testenv.Env, method, body string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	expectStatus(t, e.Do(t, nil, method, "/api/orders/7", r), http.StatusOK)
}

// expectOnlyEvalSHA wants between min and max commands, all EVALSHA.
func expectOnlyEvalSHA(t *testing.T, got []string, min, max int) {
	t.Helper()
	if len(got) < min || len(got) > max {
		t.Fatalf("the calls sent %d Redis commands %v, want %d to %d", len(got), got, min, max)
	}
	for _, cmd := range got {
		if cmd != "EVALSHA" {
			t.Fatalf("the calls sent %v, want only EVALSHA", got)
		}
	}
}

func expectNoRefresh(t *testing.T, e *testenv.Env) {
	t.Helper()
	if n := e.OP.Stats().RefreshGrants; n != 0 {
		t.Fatalf("the OP saw %d refresh grants: the test did not measure the path without refresh", n)
	}
}

// TestForgedSessionCookieFloodNeverReachesTheStore: what an attacker can send without a
// session (forged, tampered or missing cookies; cross-site requests the CSRF rule refuses)
// is turned away before the store: a flood of such requests costs Redis nothing.
func TestForgedSessionCookieFloodNeverReachesTheStore(t *testing.T) {
	e, wire := startCountedStack(t, 0)
	var session string
	for _, c := range jarCookies(t, e) {
		if c.Name == "__Host-bff" {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after login")
	}
	tests := []struct {
		name       string
		cookie     string // the Cookie header; "" sends none
		csrf       bool
		fetchSite  string
		wantStatus int
	}{
		{name: "forged cookie value", cookie: "__Host-bff=" + strings.Repeat("A", len(session)), csrf: true, wantStatus: http.StatusUnauthorized},
		{name: "tampered cookie (one byte flipped)", cookie: "__Host-bff=" + flipByte(session), csrf: true, wantStatus: http.StatusUnauthorized},
		{name: "oversized cookie", cookie: "__Host-bff=" + strings.Repeat("A", 8000), csrf: true, wantStatus: http.StatusUnauthorized},
		{name: "no cookie", csrf: true, wantStatus: http.StatusUnauthorized},
		{name: "cross-site request with the real cookie (CSRF)", cookie: "__Host-bff=" + session, fetchSite: "cross-site", csrf: true, wantStatus: http.StatusForbidden},
		{name: "real cookie without the CSRF header", cookie: "__Host-bff=" + session, wantStatus: http.StatusForbidden},
	}
	c := e.NewClient(t) // its own (empty) jar: the Cookie header is set by hand
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mark := wire.mark()
			for range 5 {
				req, err := http.NewRequest(http.MethodGet, e.URL("/api/orders/7"), nil)
				if err != nil {
					t.Fatal(err)
				}
				if tc.cookie != "" {
					req.Header.Set("Cookie", tc.cookie)
				}
				if tc.csrf {
					req.Header.Set("X-CSRF", "1")
				}
				if tc.fetchSite != "" {
					req.Header.Set("Sec-Fetch-Site", tc.fetchSite)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				expectStatus(t, resp, tc.wantStatus)
			}
			if got := wire.since(mark); len(got) != 0 {
				t.Fatalf("5 refused requests sent Redis %v, want nothing", got)
			}
		})
	}
}

func flipByte(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func expectStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body)
	}
}

// startCountedStack starts a stack whose Redis store is a miniredis behind a counting
// relay, with session.cacheTTL cacheTTL (0: no cache) and no coherent cache, logs alice in and makes one API
// call that reads the store, which loads the get script into Redis's script cache (the
// first read of a process sends EVALSHA, gets NOSCRIPT, then sends EVAL). The login's
// Save fills the session cache, so with a cache that read waits for the TTL.
func startCountedStack(t *testing.T, cacheTTL time.Duration) (*testenv.Env, *respCounter) {
	t.Helper()
	mr := miniredis.RunT(t)
	wire := newRESPCounter(t, mr.Addr())
	e := testenv.Start(t, testenv.Options{
		AccessTokenLifetime: benchTokenLifetime,
		Configure: func(c *config.Config) {
			c.Session.Store, c.Session.RedisURL = "redis", "redis://"+wire.addr+"/0"
			c.Session.CacheTTL = cacheTTL
			// The short TTL alone: the coherent cache's probes (a PUBLISH every TTL) would
			// be on the wire, and its long TTL would hide the read after the TTL.
			c.Session.CoherentCacheTTL = 0
		},
	})
	e.Login(t, nil, "alice", "/")
	time.Sleep(cacheTTL + cacheTTL/2)
	proxiedCall(t, e, http.MethodGet, "")
	if wire.mark() == 0 {
		t.Fatal("the relay saw no command: the store does not go through it")
	}
	return e, wire
}

// respCounter is a TCP relay in front of a Redis server that records the name of every
// command clients send, as they appear on the wire (RESP arrays of bulk strings, what
// go-redis sends). Commands of subscriber connections (SUBSCRIBE and the client's health
// pings on them) are left out: they are not request work. Safe for concurrent use.
type respCounter struct {
	addr string

	mu    sync.Mutex
	cmds  []wireCommand
	subsc map[int]bool // connection number → it subscribed
}

type wireCommand struct {
	conn int
	name string
}

// RESP bounds of the relay's parser: go-redis never comes near them.
const (
	respMaxArgs = 1024
	respMaxBulk = 1 << 20
)

func newRESPCounter(t *testing.T, target string) *respCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &respCounter{addr: l.Addr().String(), subsc: map[int]bool{}}
	var wg sync.WaitGroup
	var conns []net.Conn
	var connsMu sync.Mutex
	t.Cleanup(func() {
		_ = l.Close()
		connsMu.Lock()
		for _, cn := range conns {
			_ = cn.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				_ = client.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, client, server)
			connsMu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(client, server); _ = client.Close() }()
			go func() { defer wg.Done(); c.relayCommands(n, client, server); _ = server.Close() }()
		}
	}()
	return c
}

// relayCommands records each client command, then forwards its bytes to the server: a
// command is always recorded before its reply can exist, so a caller who got the reply
// sees the command counted.
func (c *respCounter) relayCommands(conn int, client, server net.Conn) {
	var raw bytes.Buffer // read from the client, not yet forwarded
	br := bufio.NewReader(io.TeeReader(client, &raw))
	for {
		name, err := readRESPCommand(br)
		if err != nil {
			return
		}
		c.mu.Lock()
		c.cmds = append(c.cmds, wireCommand{conn: conn, name: name})
		if strings.HasSuffix(name, "SUBSCRIBE") {
			c.subsc[conn] = true
		}
		c.mu.Unlock()
		// raw holds this command's bytes followed by what br read ahead of it.
		if _, err := server.Write(raw.Next(raw.Len() - br.Buffered())); err != nil {
			return
		}
	}
}

// mark returns a position for since.
func (c *respCounter) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cmds)
}

// since returns the names of the commands sent after mark, on non-subscriber connections.
func (c *respCounter) since(mark int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, cmd := range c.cmds[mark:] {
		if !c.subsc[cmd.conn] {
			out = append(out, cmd.name)
		}
	}
	return out
}

var errRESP = errors.New("not a RESP array of bulk strings")

// readRESPCommand reads one command (*N CRLF, then N times $len CRLF data CRLF) and
// returns its name, upper-cased.
func readRESPCommand(br *bufio.Reader) (string, error) {
	n, err := readRESPLength(br, '*', respMaxArgs)
	if err != nil || n < 1 {
		return "", errors.Join(errRESP, err)
	}
	var name string
	for i := range n {
		size, err := readRESPLength(br, '$', respMaxBulk)
		if err != nil {
			return "", err
		}
		if i > 0 {
			if _, err := br.Discard(size + 2); err != nil {
				return "", fmt.Errorf("resp: bulk: %w", err)
			}
			continue
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", fmt.Errorf("resp: command name: %w", err)
		}
		name = strings.ToUpper(string(buf[:size]))
	}
	return name, nil
}

// readRESPLength reads a "<prefix><int>\r\n" line and checks 0 <= int <= limit.
func readRESPLength(br *bufio.Reader, prefix byte, limit int) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, fmt.Errorf("resp: %w", err)
	}
	if len(line) < 4 || line[0] != prefix || line[len(line)-2] != '\r' {
		return 0, errRESP
	}
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n < 0 || n > limit {
		return 0, errRESP
	}
	return n, nil
}
