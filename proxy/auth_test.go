package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/problem"
)

// problemBody decodes a problem+json response.
func problemBody(t *testing.T, resp *http.Response, body []byte) (typ problem.Type, detail string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type %q, want %q (body %q)", ct, problem.ContentType, body)
	}
	var p struct {
		Type   problem.Type `json:"type"`
		Status int          `json:"status"`
		Detail string       `json:"detail"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	if p.Status != resp.StatusCode {
		t.Fatalf("problem status %d, response status %d", p.Status, resp.StatusCode)
	}
	return p.Type, p.Detail
}

func TestAuthModes(t *testing.T) {
	tests := []struct {
		name         string
		auth         string
		session      bool
		wantStatus   int
		wantProblem  problem.Type
		wantBearer   string // what the upstream sees; "" none
		wantTokenUse bool
	}{
		{name: "required with session injects bearer", auth: "required", session: true,
			wantStatus: http.StatusOK, wantBearer: "Bearer t1", wantTokenUse: true},
		{name: "default is required", auth: "", session: false,
			wantStatus: http.StatusUnauthorized, wantProblem: problem.Unauthenticated, wantTokenUse: true},
		{name: "required without session is 401 problem, never a redirect", auth: "required", session: false,
			wantStatus: http.StatusUnauthorized, wantProblem: problem.Unauthenticated, wantTokenUse: true},
		{name: "optional without session forwards anonymously", auth: "optional", session: false,
			wantStatus: http.StatusOK, wantTokenUse: true},
		{name: "optional with session injects bearer", auth: "optional", session: true,
			wantStatus: http.StatusOK, wantBearer: "Bearer t1", wantTokenUse: true},
		{name: "none never asks for a token", auth: "none", session: true,
			wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, nil)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) { r.Auth = Auth(tt.auth) })})
			h := http.Header{"Authorization": {"Bearer from-the-browser"}}
			if tt.session {
				h.Set(sessionHeader, "s1")
			}
			resp, body := f.do(t, http.MethodGet, "/api/x", h, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantProblem != "" {
				if typ, _ := problemBody(t, resp, body); typ != tt.wantProblem {
					t.Fatalf("problem type %q, want %q", typ, tt.wantProblem)
				}
				if loc := resp.Header.Get("Location"); loc != "" {
					t.Fatalf("API caller redirected to %q", loc)
				}
				if up.hits.Load() != 0 {
					t.Fatal("unauthenticated request reached the upstream")
				}
				return
			}
			if got := up.last(t).Header.Get("Authorization"); got != tt.wantBearer {
				t.Fatalf("upstream Authorization %q, want %q", got, tt.wantBearer)
			}
			if used := f.tokens.calls.Load() > 0; used != tt.wantTokenUse {
				t.Fatalf("Token called: %v, want %v", used, tt.wantTokenUse)
			}
		})
	}
}

func TestTokenErrorsAreRendered(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantProblem problem.Type
	}{
		{name: "session expired", err: problem.New(http.StatusUnauthorized, problem.SessionExpired, "log in again", nil),
			wantStatus: http.StatusUnauthorized, wantProblem: problem.SessionExpired},
		{name: "idp unavailable", err: problem.New(http.StatusServiceUnavailable, problem.IdPUnavailable, "", errors.New("dial idp")),
			wantStatus: http.StatusServiceUnavailable, wantProblem: problem.IdPUnavailable},
		{name: "store unavailable, wrapped", err: wrapErr(problem.New(http.StatusServiceUnavailable, problem.StoreUnavailable, "", nil)),
			wantStatus: http.StatusServiceUnavailable, wantProblem: problem.StoreUnavailable},
		{name: "unknown error is 502 without detail", err: errors.New("redis: secret-internal-detail"),
			wantStatus: http.StatusBadGateway, wantProblem: problem.UpstreamUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, nil)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
			f.tokens.err = tt.err
			resp, body := f.do(t, http.MethodGet, "/api/x", withSession(), nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if typ, _ := problemBody(t, resp, body); typ != tt.wantProblem {
				t.Fatalf("problem type %q, want %q", typ, tt.wantProblem)
			}
			if strings.Contains(string(body), "secret-internal-detail") || strings.Contains(string(body), "dial idp") {
				t.Fatalf("internal error text leaked to the client: %q", body)
			}
			if up.hits.Load() != 0 {
				t.Fatal("request reached the upstream without a token")
			}
		})
	}
}

func wrapErr(err error) error { return errors.Join(errors.New("refresh"), err) }

func TestEmptyTokenIsNoSession(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	f.tokens.token = ""
	resp, body := f.do(t, http.MethodGet, "/api/x", withSession(), nil)
	if resp.StatusCode != http.StatusUnauthorized || up.hits.Load() != 0 {
		t.Fatalf("status %d (body %q), upstream hits %d; want 401 and none", resp.StatusCode, body, up.hits.Load())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) { r.Methods = []string{"GET", "POST"} })})
	tests := []struct {
		name       string
		method     string
		wantStatus int
	}{
		{name: "allowed GET", method: http.MethodGet, wantStatus: http.StatusOK},
		{name: "allowed POST", method: http.MethodPost, wantStatus: http.StatusOK},
		{name: "DELETE refused", method: http.MethodDelete, wantStatus: http.StatusMethodNotAllowed},
		{name: "methods are case-sensitive", method: "get", wantStatus: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.tokens.calls.Load()
			resp, body := f.do(t, tt.method, "/api/x", withSession(), nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusMethodNotAllowed {
				return
			}
			if typ, _ := problemBody(t, resp, body); typ != problem.MethodNotAllowed {
				t.Fatalf("problem type %q", typ)
			}
			if allow := resp.Header.Get("Allow"); allow != "GET, POST" {
				t.Fatalf("Allow %q, want %q", allow, "GET, POST")
			}
			if f.tokens.calls.Load() != before {
				t.Fatal("Token called for a refused method")
			}
		})
	}
}

// TestUpgradeSmugglingRefused: an Upgrade other than a websocket handshake (h2c above
// all) would turn the upstream connection into a tunnel past the proxy's rules.
func TestUpgradeSmugglingRefused(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
	tests := []struct {
		name   string
		method string
		header http.Header
	}{
		{name: "h2c upgrade", method: http.MethodGet,
			header: http.Header{"Connection": {"Upgrade, HTTP2-Settings"}, "Upgrade": {"h2c"}, "Http2-Settings": {"AAMAAABkAARAAAAAAAIAAAAA"}}},
		{name: "websocket upgrade on POST", method: http.MethodPost,
			header: http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}},
		{name: "unknown protocol", method: http.MethodGet,
			header: http.Header{"Connection": {"Upgrade"}, "Upgrade": {"tls/1.0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.header.Set(sessionHeader, "s1")
			resp, body := f.do(t, tt.method, "/api/x", tt.header, nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if typ, _ := problemBody(t, resp, body); typ != problem.BadRequest {
				t.Fatalf("problem type %q", typ)
			}
		})
	}
	if up.hits.Load() != 0 {
		t.Fatalf("upstream hit %d times", up.hits.Load())
	}
}
