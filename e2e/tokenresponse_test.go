package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
)

// tokenRewriter sits in front of the OP and edits the JSON of its successful token
// responses (authorization code and refresh grants alike), as a misbehaving or
// DPoP-issuing provider would answer. It remembers every access token it let through.
type tokenRewriter struct {
	mu     sync.Mutex
	edit   func(resp map[string]any) // nil: answers pass unchanged
	issued []string
	// editFor, when set, also edits each answer, knowing the request it answers (a
	// DPoP-issuing provider binds the token to the request's proof).
	editFor func(r *http.Request, resp map[string]any)
}

func (tr *tokenRewriter) set(edit func(map[string]any)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.edit = edit
}

// issuedTokens are the access tokens of every token response so far.
func (tr *tokenRewriter) issuedTokens() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.issued...)
}

func (tr *tokenRewriter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var resp map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &resp) == nil {
			tr.mu.Lock()
			if at, ok := resp["access_token"].(string); ok {
				tr.issued = append(tr.issued, at)
			}
			if tr.edit != nil {
				tr.edit(resp)
				body, _ = json.Marshal(resp)
			}
			if tr.editFor != nil {
				tr.editFor(r, resp)
				body, _ = json.Marshal(resp)
			}
			tr.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// startWithRewriter starts a stack whose OP's token responses pass through a tokenRewriter.
func startWithRewriter(t *testing.T, o testenv.Options) (*testenv.Env, *tokenRewriter) {
	t.Helper()
	tr := &tokenRewriter{}
	o.WrapOP = tr.wrap
	return testenv.Start(t, o), tr
}

// TestBadExpiresInNeverRefreshesPerRequest: a provider whose expires_in is negative, zero
// or absent must not make every API call a refresh grant (each one also rotating the
// refresh token): the BFF assumes a 5-minute life, so 20 calls right after login cost at
// most one grant.
func TestBadExpiresInNeverRefreshesPerRequest(t *testing.T) {
	const calls = 20
	for _, tc := range []struct {
		name      string
		expiresIn any // nil: removed from the response
	}{
		{name: "negative", expiresIn: -1},
		{name: "very negative", expiresIn: -86400},
		{name: "zero", expiresIn: 0},
		{name: "absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, tr := startWithRewriter(t, testenv.Options{})
			tr.set(func(resp map[string]any) {
				delete(resp, "expires_in")
				if tc.expiresIn != nil {
					resp["expires_in"] = tc.expiresIn
				}
			})
			if resp := e.Login(t, nil, "alice", "/"); resp.StatusCode != http.StatusFound {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			for i := range calls {
				r := e.Do(t, nil, http.MethodGet, "/api/things", nil)
				r.Body.Close()
				if r.StatusCode != http.StatusOK {
					t.Fatalf("call %d: %d", i, r.StatusCode)
				}
			}
			if got := e.OP.Stats().RefreshGrants; got > 1 {
				t.Fatalf("%d API calls caused %d refresh grants, want at most 1", calls, got)
			}
		})
	}
}

// TestDPoPTokenTypeFailsLoginAndIsNeverSentUpstream: a token response with token_type
// DPoP (a sender-constrained token the BFF cannot present) fails the login with a page
// that says why, the log names the problem without the token, no session is created and
// the token never reaches an API as a bearer.
func TestDPoPTokenTypeFailsLoginAndIsNeverSentUpstream(t *testing.T) {
	logs := new(logbuf.Buffer)
	e, tr := startWithRewriter(t, testenv.Options{Log: logs})
	tr.set(func(resp map[string]any) { resp["token_type"] = "DPoP" })

	c := e.NewClient(t)
	resp, err := c.Get(e.Authorize(t, c, "alice", "/").String())
	if err != nil {
		t.Fatal(err)
	}
	page := testenv.ReadAll(t, resp)
	if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("callback: %d %q, want 502 with an HTML page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(page, "not a Bearer token") {
		t.Fatalf("the page does not say what is wrong: %s", page)
	}
	if testenv.FindCookie(resp, "__Host-bff") != nil {
		t.Fatal("a session cookie was set")
	}
	if r := e.Do(t, c, http.MethodGet, "/api/things", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API call after the failed login: %d, want 401", r.StatusCode)
	}
	if n := len(e.Upstream.Seen()); n != 0 {
		t.Fatalf("the upstream received %d requests, want none", n)
	}
	issued := tr.issuedTokens()
	if len(issued) != 1 {
		t.Fatalf("%d token responses, want 1", len(issued))
	}
	if l := logs.String(); !strings.Contains(l, `token_type \"DPoP\"`) || strings.Contains(l, issued[0]) {
		t.Fatalf("the log must name the token_type and never the token; logs:\n%s", l)
	}
}

// TestDPoPTokenTypeAtRefreshEndsTheSessionAndIsNeverSentUpstream: when a refresh answers
// with token_type DPoP, the new token is never sent as a bearer; the session ends (the
// refresh token was spent: retrying would replay it) and the caller gets a 401.
func TestDPoPTokenTypeAtRefreshEndsTheSessionAndIsNeverSentUpstream(t *testing.T) {
	e, tr := startWithRewriter(t, testenv.Options{})
	c := e.NewClient(t)
	e.Login(t, c, "alice", "/")
	if r := e.Do(t, c, http.MethodGet, "/api/things", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("API call with the login's token: %d", r.StatusCode)
	}
	tr.set(func(resp map[string]any) { resp["token_type"] = "DPoP" })
	// The upstream rejects the login's token once: the BFF forces a refresh.
	var once sync.Once
	e.Upstream.Status = func(*http.Request) int {
		status := 0
		once.Do(func() { status = http.StatusUnauthorized })
		return status
	}
	r := e.Do(t, c, http.MethodGet, "/api/things", nil)
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API call whose refresh answered DPoP: %d, want 401", r.StatusCode)
	}
	if got := e.OP.Stats().RefreshGrants; got != 1 {
		t.Fatalf("%d refresh grants, want exactly 1 (never retried)", got)
	}
	if r := e.Do(t, c, http.MethodGet, "/bff/user", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/bff/user after the DPoP refresh: %d, want 401 (session ended)", r.StatusCode)
	}
	issued := tr.issuedTokens()
	dpop := issued[len(issued)-1]
	for i, h := range e.Upstream.Seen() {
		if a := h.Get("Authorization"); strings.Contains(a, dpop) {
			t.Fatalf("upstream request %d carried the DPoP-bound token as %q", i, strings.Fields(a)[0])
		}
	}
	if bearerOf(e.Upstream.Seen()[0]) != issued[0] {
		t.Fatal("the first API call did not carry the login's token")
	}
}
