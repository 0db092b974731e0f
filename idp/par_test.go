package idp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// parEndpoint is a PAR endpoint that records what it was sent and answers with answer.
type parEndpoint struct {
	*httptest.Server
	mu     sync.Mutex
	forms  []url.Values
	auth   []string
	answer func(w http.ResponseWriter)
}

func newPAREndpoint(t *testing.T, answer func(w http.ResponseWriter)) *parEndpoint {
	pe := &parEndpoint{answer: answer}
	pe.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		pe.mu.Lock()
		pe.forms = append(pe.forms, r.PostForm)
		pe.auth = append(pe.auth, r.Header.Get("Authorization"))
		pe.mu.Unlock()
		pe.answer(w)
	}))
	t.Cleanup(pe.Close)
	return pe
}

func created(w http.ResponseWriter) {
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": "urn:ietf:params:oauth:request_uri:abc123", "expires_in": 60})
}

func TestAuthorizeURLPushesTheRequest(t *testing.T) {
	tests := []struct {
		name       string
		configured bool
		required   bool
		wantPAR    bool
	}{
		{name: "configured", configured: true, wantPAR: true},
		{name: "required by the provider", required: true, wantPAR: true},
		{name: "neither: front channel", wantPAR: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t)
			pe := newPAREndpoint(t, created)
			op.setMeta("pushed_authorization_request_endpoint", pe.URL+"/par")
			op.setMeta("require_pushed_authorization_requests", tc.required)
			p, _ := op.newProvider(func(c *Config) { c.PushedAuthorization = tc.configured })
			ar := op.loginAs(t)
			raw, err := p.AuthorizeURL(context.Background(), ar, url.Values{"prompt": {"login"}, "redirect_uri": {"https://evil.example/"}})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(raw)
			if !tc.wantPAR {
				if len(pe.forms) != 0 || u.Query().Get("state") != ar.State {
					t.Fatalf("front-channel request expected: PAR hits %d, URL %s", len(pe.forms), raw)
				}
				return
			}
			if len(pe.forms) != 1 {
				t.Fatalf("PAR endpoint hit %d times, want 1", len(pe.forms))
			}
			if q := u.Query(); len(q) != 2 || q.Get("client_id") != testClientID || q.Get("request_uri") != "urn:ietf:params:oauth:request_uri:abc123" ||
				!strings.HasPrefix(raw, op.issuer) {
				t.Fatalf("browser URL %s, want only client_id and request_uri at the authorization endpoint", raw)
			}
			f := pe.forms[0]
			for k, want := range map[string]string{
				"response_type": "code", "client_id": testClientID, "redirect_uri": testRedirect, "state": ar.State,
				"nonce": ar.Nonce, "code_challenge_method": "S256", "prompt": "login",
			} {
				if f.Get(k) != want {
					t.Errorf("pushed %s = %q, want %q", k, f.Get(k), want)
				}
			}
			if f.Get("code_challenge") == "" || f.Get("client_secret") != "" || !strings.HasPrefix(pe.auth[0], "Basic ") {
				t.Errorf("pushed challenge %q, secret in body %q, auth %q", f.Get("code_challenge"), f.Get("client_secret"), pe.auth[0])
			}
		})
	}
}

func TestAuthorizeURLPARFailures(t *testing.T) {
	elsewhere := newPAREndpoint(t, created) // a redirect target that must receive nothing
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{name: "server error", answer: func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }},
		{name: "invalid_request", answer: func(w http.ResponseWriter) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		}},
		{name: "no request_uri", answer: func(w http.ResponseWriter) { writeJSON(w, http.StatusCreated, map[string]any{}) }},
		{name: "oversized request_uri", answer: func(w http.ResponseWriter) {
			writeJSON(w, http.StatusCreated, map[string]any{"request_uri": strings.Repeat("u", maxRequestURI+1)})
		}},
		{name: "redirect is not followed (the secret would go along)", answer: func(w http.ResponseWriter) {
			w.Header().Set("Location", elsewhere.URL+"/par")
			w.WriteHeader(http.StatusTemporaryRedirect)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t)
			pe := newPAREndpoint(t, tc.answer)
			op.setMeta("pushed_authorization_request_endpoint", pe.URL+"/par")
			p, _ := op.newProvider(func(c *Config) { c.PushedAuthorization = true })
			_, err := p.AuthorizeURL(context.Background(), op.loginAs(t), nil)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatal("the error names the client secret")
			}
		})
	}
	if len(elsewhere.forms) != 0 {
		t.Fatal("the PAR request followed a redirect")
	}
}
