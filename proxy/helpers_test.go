package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"

	"github.com/tokenward/bff/credential"
)

const (
	publicURL     = "https://app.example.com"
	sessionHeader = "X-Test-Session" // the tests' stand-in for the session cookie
	sessionCookie = "__Host-bff"
)

// tokenStub is a credential source with counters: it answers token, or next after a forced
// refresh, or the configured errors.
type tokenStub struct {
	mu       sync.Mutex
	token    string
	next     string
	err      error // returned by unforced calls
	forceErr error // returned by forced calls
	calls    atomic.Int32
	forced   atomic.Int32
}

func (s *tokenStub) Token(r *http.Request, force bool) (credential.Session, error) {
	tok, err := s.token1(r, force)
	if err != nil {
		return credential.Session{}, err
	}
	return credential.Session{Credential: credential.NewBearer(tok), Key: r.Header.Get(sessionHeader),
		Identity: credential.Identity{Subject: stubSubject, Email: stubEmail, PreferredUsername: stubUsername}}, nil
}

// sourceOf adapts a function of the inbound request and force into the proxy's
// credential.SourceFunc (one Source per request, as the handler's is).
func sourceOf(f func(r *http.Request, force bool) (credential.Session, error)) credential.SourceFunc {
	return func(_ http.ResponseWriter, r *http.Request) credential.Source { return funcSource{f: f, r: r} }
}

type funcSource struct {
	f func(r *http.Request, force bool) (credential.Session, error)
	r *http.Request
}

func (s funcSource) Get(_ context.Context, force bool) (credential.Session, error) {
	return s.f(s.r, force)
}

// bearerSession is a session whose credential is the bearer tok.
func bearerSession(tok string) credential.Session {
	return credential.Session{Credential: credential.NewBearer(tok)}
}

// The identity tokenStub answers with every token.
const (
	stubSubject  = "248289761001"
	stubEmail    = "ada@example.com"
	stubUsername = "ada"
)

func (s *tokenStub) token1(r *http.Request, force bool) (string, error) {
	s.calls.Add(1)
	if force {
		s.forced.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Header.Get(sessionHeader) == "":
		return "", credential.ErrNoSession
	case force && s.forceErr != nil:
		return "", s.forceErr
	case force:
		s.token = s.next
		return s.token, nil
	case s.err != nil:
		return "", s.err
	}
	return s.token, nil
}

// seen is what an upstream received.
type seen struct {
	Method     string
	RequestURI string
	Host       string
	Header     http.Header
	Body       []byte
}

// upstream is an httptest server that records every request and then calls respond.
type upstream struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	reqs []seen
}

func newUpstream(t *testing.T, respond http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	if respond == nil {
		respond = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }
	}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, Header: r.Header.Clone(), Body: body})
		u.mu.Unlock()
		respond(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("upstream saw no request")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) all() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// fixture is a Proxy behind a real front server, as the handler package will mount it.
type fixture struct {
	p      *Proxy
	front  *httptest.Server
	tokens *tokenStub
	logs   *logbuf.Buffer
}

func cfgRoute(path, upstream string, mutate ...func(*Route)) Route {
	r := Route{Path: path, Upstream: upstream, StripPrefix: strings.TrimSuffix(path, "/"), Timeout: 5 * time.Second,
		RetryOn401: true, MaxRequestBody: 10 << 20} // config's defaults
	for _, m := range mutate {
		m(&r)
	}
	return r
}

func newFixture(t *testing.T, routes []Route, mutate ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{tokens: &tokenStub{token: "t1", next: "t2"}, logs: &logbuf.Buffer{}}
	pub, _ := url.Parse(publicURL)
	opts := Options{
		Routes:      routes,
		PublicURL:   pub,
		Credentials: sourceOf(f.tokens.Token),
		OwnCookies: func(name string) bool {
			return name == sessionCookie || strings.HasPrefix(name, sessionCookie+"-login")
		},
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.p = p
	f.front = httptest.NewServer(frontHandler(p))
	t.Cleanup(func() {
		p.CloseAll()
		f.front.Close()
	})
	return f
}

// frontHandler mounts the proxy the way the handler package does: Match first, the SPA
// (here a 404 "spa") for everything else.
func frontHandler(p *Proxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := p.Match(r)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "spa")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// do sends a request through the front server and returns the response with its body.
func (f *fixture) do(t *testing.T, method, target string, header http.Header, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.front.URL+target, body)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// raw sends a request line written byte for byte (no client-side path cleaning or
// escaping) and returns the response status and body.
func raw(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: app.example.com\r\n"+sessionHeader+": s1\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func withSession() http.Header { return http.Header{sessionHeader: {"s1"}} }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func mustParse(t testing.TB, rawURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	return u
}
