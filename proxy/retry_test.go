package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/problem"
)

// rejectStale answers 401 to the first bearer (t1) and 200 to any other.
func rejectStale(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "Bearer t1" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "upstream-401")
		return
	}
	io.WriteString(w, "fresh")
}

func TestUpstream401RetriesOnceWithFreshToken(t *testing.T) {
	small := strings.Repeat("x", 1<<10)
	tests := []struct {
		name       string
		auth       string
		retryOn401 *bool
		method     string
		body       io.Reader // nil: no body
		session    bool
		wantStatus int
		wantForced int32
		wantHits   int32
	}{
		{name: "GET retried with fresh bearer", method: http.MethodGet, session: true,
			wantStatus: http.StatusOK, wantForced: 1, wantHits: 2},
		{name: "small POST body buffered and re-sent", method: http.MethodPost, body: strings.NewReader(small), session: true,
			wantStatus: http.StatusOK, wantForced: 1, wantHits: 2},
		{name: "body at the 64 KiB limit re-sent", method: http.MethodPut, body: bytes.NewReader(make([]byte, maxReplayBody)), session: true,
			wantStatus: http.StatusOK, wantForced: 1, wantHits: 2},
		{name: "body over the limit streams, no retry", method: http.MethodPut, body: bytes.NewReader(make([]byte, maxReplayBody+1)), session: true,
			wantStatus: http.StatusUnauthorized, wantForced: 0, wantHits: 1},
		{name: "body of unknown length streams, no retry", method: http.MethodPost, body: io.MultiReader(strings.NewReader(small)), session: true,
			wantStatus: http.StatusUnauthorized, wantForced: 0, wantHits: 1},
		{name: "retry disabled on the route", retryOn401: new(bool), method: http.MethodGet, session: true,
			wantStatus: http.StatusUnauthorized, wantForced: 0, wantHits: 1},
		{name: "anonymous request on optional route is not retried", auth: "optional", method: http.MethodGet,
			wantStatus: http.StatusOK, wantForced: 0, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, rejectStale)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) {
				r.Auth, r.RetryOn401 = Auth(tt.auth), tt.retryOn401 == nil || *tt.retryOn401
			})})
			h := http.Header{}
			if tt.session {
				h.Set(sessionHeader, "s1")
			}
			resp, body := f.do(t, tt.method, "/api/x", h, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if got := f.tokens.forced.Load(); got != tt.wantForced {
				t.Fatalf("forced refreshes %d, want %d", got, tt.wantForced)
			}
			if got := up.hits.Load(); got != tt.wantHits {
				t.Fatalf("upstream hits %d, want %d", got, tt.wantHits)
			}
			reqs := up.all()
			if tt.wantHits == 2 {
				if a := reqs[1].Header.Get("Authorization"); a != "Bearer t2" {
					t.Fatalf("retry carried %q, want the fresh bearer", a)
				}
				if !bytes.Equal(reqs[0].Body, reqs[1].Body) {
					t.Fatalf("retry body (%d bytes) differs from the first (%d bytes)", len(reqs[1].Body), len(reqs[0].Body))
				}
			}
			if tt.wantStatus == http.StatusUnauthorized && string(body) != "upstream-401" {
				t.Fatalf("client got %q, want the upstream's own 401", body)
			}
		})
	}
}

func TestSecond401IsPassedThrough(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "upstream-401")
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	resp, body := f.do(t, http.MethodGet, "/api/x", withSession(), nil)
	if resp.StatusCode != http.StatusUnauthorized || string(body) != "upstream-401" {
		t.Fatalf("got %d %q, want the upstream's 401", resp.StatusCode, body)
	}
	if f.tokens.forced.Load() != 1 || up.hits.Load() != 2 {
		t.Fatalf("forced %d, hits %d; want exactly one refresh and one retry", f.tokens.forced.Load(), up.hits.Load())
	}
}

func TestForcedRefreshFailure(t *testing.T) {
	tests := []struct {
		name        string
		forceErr    error
		wantStatus  int
		wantProblem problem.Type // "": the upstream's 401 body
	}{
		{name: "session expired ends with the refresh's problem",
			forceErr:   problem.New(http.StatusUnauthorized, problem.SessionExpired, "log in again", errors.New("invalid_grant")),
			wantStatus: http.StatusUnauthorized, wantProblem: problem.SessionExpired},
		{name: "idp unavailable passes the upstream 401 through",
			forceErr:   problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable, "", nil),
			wantStatus: http.StatusUnauthorized},
		{name: "session gone passes the upstream 401 through",
			forceErr: credential.ErrNoSession, wantStatus: http.StatusUnauthorized},
		{name: "unknown error passes the upstream 401 through",
			forceErr: errors.New("boom"), wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, rejectStale)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
			f.tokens.forceErr = tt.forceErr
			resp, body := f.do(t, http.MethodGet, "/api/x", withSession(), nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantProblem != "" {
				if typ, _ := problemBody(t, resp, body); typ != tt.wantProblem {
					t.Fatalf("problem %q, want %q", typ, tt.wantProblem)
				}
			} else if string(body) != "upstream-401" || resp.Header.Get("Www-Authenticate") == "" {
				t.Fatalf("client got %q, want the upstream's 401 with its WWW-Authenticate", body)
			}
			if f.tokens.forced.Load() != 1 || up.hits.Load() != 1 {
				t.Fatalf("forced %d, hits %d; want one forced call and no re-send", f.tokens.forced.Load(), up.hits.Load())
			}
		})
	}
}

// TestLargeBodyStreamsWithoutBufferingOrRetry sends a 2 MiB body in two halves and only
// writes the second half once the upstream has received bytes of the first: a proxy that
// buffered the body would deadlock here. The upstream's 401 is not retried.
func TestLargeBodyStreamsWithoutBufferingOrRetry(t *testing.T) {
	const size = 2 << 20
	started := make(chan struct{})
	received := make(chan int, 1)
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		n, _ := io.ReadFull(r.Body, buf)
		close(started)
		rest, _ := io.Copy(io.Discard, r.Body)
		received <- n + int(rest)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "upstream-401")
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up)})
	pr, pw := io.Pipe()
	go func() {
		half := make([]byte, size/2)
		if _, err := pw.Write(half); err != nil {
			pw.CloseWithError(err)
			return
		}
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			pw.CloseWithError(errors.New("the upstream saw nothing of the first MiB: the body was buffered"))
			return
		}
		_, err := pw.Write(half)
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, f.front.URL+"/api/upload", pr)
	req.ContentLength = size
	req.Header.Set(sessionHeader, "s1")
	resp, err := f.front.Client().Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || string(body) != "upstream-401" {
		t.Fatalf("got %d %q, want the upstream's 401", resp.StatusCode, body)
	}
	if got := <-received; got != size {
		t.Fatalf("upstream received %d bytes, want %d", got, size)
	}
	if f.tokens.forced.Load() != 0 {
		t.Fatal("a streamed body was retried")
	}
}

// httpUpstream is a bare upstream server (no recording) for handlers that read the body
// themselves.
func httpUpstream(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
