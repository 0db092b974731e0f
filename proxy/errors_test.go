package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/problem"
)

// closedAddr returns the URL of a port nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUpstreamErrors(t *testing.T) {
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		io.WriteString(w, "late")
	})
	slowBody := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		time.Sleep(300 * time.Millisecond) // longer than the route's header timeout
		io.WriteString(w, "slow body")
	})
	hijack := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close() // no response at all
	})
	dead := closedAddr(t)
	short := func(r *Route) { r.Timeout = 100 * time.Millisecond }
	long := func(r *Route) { r.Timeout = 2 * time.Second }
	tests := []struct {
		name        string
		route       Route
		wantStatus  int
		wantProblem problem.Type // "": no problem body
		wantBody    string
	}{
		{name: "headers later than the route timeout: 504",
			route: cfgRoute("/api/", slow.URL, short), wantStatus: http.StatusGatewayTimeout, wantProblem: problem.UpstreamUnavailable},
		{name: "same upstream, longer route timeout: 200",
			route: cfgRoute("/api/", slow.URL, long), wantStatus: http.StatusOK, wantBody: "late"},
		{name: "header timeout does not cut a slow body",
			route: cfgRoute("/api/", slowBody.URL, short), wantStatus: http.StatusOK, wantBody: "slow body"},
		{name: "connection refused: 502",
			route: cfgRoute("/api/", dead), wantStatus: http.StatusBadGateway, wantProblem: problem.UpstreamUnavailable},
		{name: "connection closed without response: 502",
			route: cfgRoute("/api/", hijack.URL), wantStatus: http.StatusBadGateway, wantProblem: problem.UpstreamUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []Route{tt.route})
			resp, body := f.do(t, http.MethodGet, "/api/x?access_token=secret-query-value", withSession(), nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantProblem == "" {
				if string(body) != tt.wantBody {
					t.Fatalf("body %q, want %q", body, tt.wantBody)
				}
				return
			}
			if typ, _ := problemBody(t, resp, body); typ != tt.wantProblem {
				t.Fatalf("problem %q, want %q", typ, tt.wantProblem)
			}
			for _, leak := range []string{"127.0.0.1", "dial", "refused", "EOF", "timeout awaiting"} {
				if strings.Contains(string(body), leak) {
					t.Fatalf("error detail %q leaked to the client: %q", leak, body)
				}
			}
			logs := f.logs.String()
			if !strings.Contains(logs, "upstream request failed") || !strings.Contains(logs, "path=/api/x") {
				t.Fatalf("failure not logged with its path: %q", logs)
			}
			for _, leak := range []string{"secret-query-value", "Bearer"} {
				if strings.Contains(logs, leak) {
					t.Fatalf("log line carries %q: %q", leak, logs)
				}
			}
		})
	}
}

// TestClientGoneIs499 cancels the client's request while the upstream is thinking: the
// handler answers 499 without a body (and logs nothing as an upstream failure).
func TestClientGoneIs499(t *testing.T) {
	arrived := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/x", nil)
	req.Header.Set(sessionHeader, "s1")
	h, ok := f.p.Match(req)
	if !ok {
		t.Fatal("no route")
	}
	go func() {
		<-arrived
		cancel()
	}()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != statusClientClosedRequest || rec.Body.Len() != 0 {
		t.Fatalf("got %d %q, want 499 without a body", rec.Code, rec.Body.String())
	}
	if strings.Contains(f.logs.String(), "upstream request failed") {
		t.Fatalf("client gone logged as an upstream failure: %q", f.logs.String())
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "url error loses its URL", err: &url.Error{Op: "Get", URL: "http://up/x?token=secret", Err: io.ErrUnexpectedEOF},
			want: "Get: unexpected EOF"},
		{name: "other errors unchanged", err: io.EOF, want: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.err); got != tt.want {
				t.Fatalf("redact = %q, want %q", got, tt.want)
			}
		})
	}
}
