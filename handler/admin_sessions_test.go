package handler_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// adminEnv is a stack with the admin kill-switch on, its admin listener served.
type adminEnv struct {
	*testenv.Env
	admin  string // the admin listener's base URL
	file   string // server.adminTokenFile
	secret string
}

// randomSecret is n random bytes, base64url (longer than n).
func randomSecret(t *testing.T, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// startAdmin starts a stack with server.adminTokenFile and a session key of its own (the
// subject index is keyed by it, so a shared Redis's other alice sessions stay out).
func startAdmin(t *testing.T, o testenv.Options, start func(*testing.T, testenv.Options) *testenv.Env) *adminEnv {
	t.Helper()
	a := &adminEnv{file: filepath.Join(t.TempDir(), "admin-token"), secret: randomSecret(t, 32)}
	if err := os.WriteFile(a.file, []byte(a.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	prev := o.Configure
	o.Configure = func(c *config.Config) {
		c.Server.AdminTokenFile = a.file
		c.Session.Keys = []string{base64.StdEncoding.EncodeToString(key)}
		if prev != nil {
			prev(c)
		}
	}
	if start == nil {
		start = func(t *testing.T, o testenv.Options) *testenv.Env { return testenv.Start(t, o) }
	}
	a.Env = start(t, o)
	srv := httptest.NewServer(a.BFF.AdminHandler())
	t.Cleanup(srv.Close)
	a.admin = srv.URL
	return a
}

// adminDo sends method path to base with Authorization auth ("" for none).
func adminDo(t *testing.T, base, method, path, auth string) *http.Response {
	t.Helper()
	return adminDoWith(t, http.DefaultClient, base, method, path, auth)
}

// adminDoWith is adminDo through c.
func adminDoWith(t *testing.T, c *http.Client, base, method, path, auth string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (a *adminEnv) do(t *testing.T, method, path string) *http.Response {
	t.Helper()
	return adminDo(t, a.admin, method, path, "Bearer "+a.secret)
}

// aliceSub is the demo provider's subject of alice.
func aliceSub(t *testing.T) string {
	t.Helper()
	for _, u := range demoop.DefaultUsers() {
		if u.Username == "alice" {
			return u.Subject
		}
	}
	t.Fatal("no alice among the demo users")
	return ""
}

func sessionsPath(sub string) string { return "/admin/subjects/" + sub + "/sessions" }

// TestAdminKillSwitchNeedsTheBearerSecret: without the exact secret every admin call is
// a 401 problem+json with WWW-Authenticate: Bearer, and a refused DELETE ends nothing.
func TestAdminKillSwitchNeedsTheBearerSecret(t *testing.T) {
	a := startAdmin(t, testenv.Options{}, nil)
	alice := loginCookie(t, a.Env, "alice")
	path := sessionsPath(aliceSub(t))
	for _, auth := range []string{
		"",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+a.secret)),
		"Basic " + a.secret,
		"Token " + a.secret,
		"Bearer",
		"Bearer ",
		"Bearer " + randomSecret(t, 32),
		"Bearer " + a.secret[:len(a.secret)-1],
		"Bearer " + a.secret + "x",
		"Bearer x" + a.secret,
		a.secret,
	} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			resp := adminDo(t, a.admin, method, path, auth)
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, `"unauthenticated"`) {
				t.Fatalf("%s with Authorization %q: %d %q %q %s", method, redact(auth, a.secret), resp.StatusCode,
					resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"), body)
			}
			if strings.Contains(body, a.secret) {
				t.Fatal("the 401 echoes the secret")
			}
		}
	}
	if !sessionAlive(t, a.Env, alice) {
		t.Fatal("a refused DELETE ended alice's session")
	}
	// The scheme is case-insensitive (RFC 9110 §11.1); the right secret is let in.
	if resp := adminDo(t, a.admin, http.MethodGet, path, "bearer "+a.secret); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with the secret: %d %s", resp.StatusCode, testenv.ReadAll(t, resp))
	}
}

func redact(s, secret string) string { return strings.ReplaceAll(s, secret, "<secret>") }

// TestAdminKillSwitchIsOffWithoutATokenFile: no server.adminTokenFile, no endpoints: 404
// even with a bearer, and nothing ends.
func TestAdminKillSwitchIsOffWithoutATokenFile(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	alice := loginCookie(t, e, "alice")
	srv := httptest.NewServer(e.BFF.AdminHandler())
	t.Cleanup(srv.Close)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		resp := adminDo(t, srv.URL, method, sessionsPath(aliceSub(t)), "Bearer "+strings.Repeat("x", 40))
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s without server.adminTokenFile: %d, want 404", method, resp.StatusCode)
		}
	}
	if !sessionAlive(t, e, alice) {
		t.Fatal("alice's session ended")
	}
}

// TestAdminTokenFileMustHoldASecret: bff.New refuses a missing file or one whose secret is
// shorter than 32 bytes once trimmed (a configuration built in code, which Load's check
// does not see): the kill-switch is never on without a usable secret.
func TestAdminTokenFileMustHoldASecret(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("  "+strings.Repeat("s", config.MinAdminTokenBytes-1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{short, filepath.Join(t.TempDir(), "missing")} {
		cfg := e.Config
		cfg.Server.AdminTokenFile = file
		srv, err := bff.New(context.Background(), cfg, bff.WithLogger(slog.New(slog.DiscardHandler)))
		if err == nil {
			_ = srv.Close()
			t.Fatalf("bff.New with admin token file %s: no error", filepath.Base(file))
		}
		if strings.Contains(err.Error(), "sssss") {
			t.Fatalf("the error shows the secret: %v", err)
		}
	}
}

// TestAdminTokenFileIsReadAgainWhenItChanges: a rotated secret takes effect without a
// restart (the old one is refused), and a file that becomes unusable refuses everyone.
func TestAdminTokenFileIsReadAgainWhenItChanges(t *testing.T) {
	a := startAdmin(t, testenv.Options{}, nil)
	path := sessionsPath(aliceSub(t))
	status := func(secret string) int {
		resp := adminDo(t, a.admin, http.MethodGet, path, "Bearer "+secret)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(a.secret); got != http.StatusOK {
		t.Fatalf("first secret: %d", got)
	}
	rotated := randomSecret(t, 48) // another length: the size changes even within one mtime tick
	if err := os.WriteFile(a.file, []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, old := status(rotated), status(a.secret); got != http.StatusOK || old != http.StatusUnauthorized {
		t.Fatalf("after rotation: new secret %d (want 200), old %d (want 401)", got, old)
	}
	if err := os.WriteFile(a.file, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := status(rotated); got != http.StatusUnauthorized {
		t.Fatalf("file now too short: the last good secret got %d, want 401", got)
	}
	if got := status("short"); got != http.StatusUnauthorized {
		t.Fatalf("file now too short: its content got %d, want 401", got)
	}
	if err := os.Remove(a.file); err != nil {
		t.Fatal(err)
	}
	if got := status(rotated); got != http.StatusUnauthorized {
		t.Fatalf("file removed: %d, want 401", got)
	}
	// Restored: accepted again.
	if err := os.WriteFile(a.file, []byte(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := status(rotated); got != http.StatusOK {
		t.Fatalf("file restored: %d, want 200", got)
	}
}

// TestAdminKillSwitchIsNotOnThePublicListener: the public listener knows no /admin/
// path: with the right bearer, GET and DELETE there end nothing and answer no count.
func TestAdminKillSwitchIsNotOnThePublicListener(t *testing.T) {
	a := startAdmin(t, testenv.Options{}, nil)
	alice := loginCookie(t, a.Env, "alice")
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		resp := adminDoWith(t, a.NewClient(t), a.Server.URL, method, sessionsPath(aliceSub(t)), "Bearer "+a.secret)
		body := testenv.ReadAll(t, resp)
		if strings.Contains(body, `"count"`) || strings.Contains(body, `"ended"`) || resp.StatusCode == http.StatusOK && method == http.MethodDelete {
			t.Fatalf("public %s %s: %d %s", method, sessionsPath("…"), resp.StatusCode, body)
		}
	}
	if !sessionAlive(t, a.Env, alice) {
		t.Fatal("a DELETE on the public listener ended alice's session")
	}
	resp := a.do(t, http.MethodGet, sessionsPath(aliceSub(t)))
	var n struct{ Count int }
	testenv.JSON(t, resp, &n)
	if n.Count != 1 {
		t.Fatalf("alice's count on the admin listener: %d, want 1", n.Count)
	}
}

// adminCount is GET /admin/subjects/{sub}/sessions's answer.
type adminCount struct {
	Subject   string `json:"subject"`
	Provider  string `json:"provider"`
	Count     int    `json:"count"`
	Truncated bool   `json:"truncated"`
}

// adminEnded is DELETE /admin/subjects/{sub}/sessions's answer.
type adminEnded struct {
	Ended, Revoked, RevokeFailed int
}

func (a *adminEnv) count(t *testing.T, path string) adminCount {
	t.Helper()
	return adminJSON[adminCount](t, a, http.MethodGet, path)
}

func (a *adminEnv) end(t *testing.T, path string) adminEnded {
	t.Helper()
	return adminJSON[adminEnded](t, a, http.MethodDelete, path)
}

// adminJSON sends method path to the admin listener, wants a 200 and decodes its body.
func adminJSON[T any](t *testing.T, a *adminEnv, method, path string) T {
	t.Helper()
	resp := a.do(t, method, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, testenv.ReadAll(t, resp))
	}
	var v T
	testenv.JSON(t, resp, &v)
	return v
}

// TestAdminKillSwitchCountsAndEndsOneSubject: GET counts alice's sessions (nothing but
// the count); DELETE ends both, revokes both refresh tokens at the provider, and leaves
// bob's session alone; the metric counts reason admin.
func TestAdminKillSwitchCountsAndEndsOneSubject(t *testing.T) {
	a := startAdmin(t, testenv.Options{}, nil)
	a1, a2, b := loginCookie(t, a.Env, "alice"), loginCookie(t, a.Env, "alice"), loginCookie(t, a.Env, "bob")
	path := sessionsPath(aliceSub(t))
	resp := a.do(t, http.MethodGet, path)
	body := testenv.ReadAll(t, resp)
	if resp.Header.Get("Cache-Control") != "no-store" || strings.Contains(body, "handle") || strings.Contains(body, "Hash") {
		t.Fatalf("GET: %q %s", resp.Header.Get("Cache-Control"), body)
	}
	if n := a.count(t, path); n.Count != 2 || n.Truncated || n.Subject != aliceSub(t) || n.Provider != "" {
		t.Fatalf("alice's count: %+v, want 2", n)
	}
	_, stream := a.OpenEvents(t, a.Server.URL, a1, nil)
	stream.Expect(t, "session", 5*time.Second)
	before := a.OP.Stats().Revocations
	if got := a.end(t, path); got != (adminEnded{Ended: 2, Revoked: 2}) {
		t.Fatalf("DELETE: %+v, want 2 ended, 2 revoked", got)
	}
	if revoked := a.OP.Stats().Revocations - before; revoked != 2 {
		t.Fatalf("the provider saw %d revocations, want 2", revoked)
	}
	var ended struct{ Reason string }
	stream.Expect(t, "ended", 5*time.Second).Decode(t, &ended)
	if ended.Reason != "admin" {
		t.Fatalf("the stream of alice's session on this replica: ended %q, want admin", ended.Reason)
	}
	if sessionAlive(t, a.Env, a1) || sessionAlive(t, a.Env, a2) {
		t.Fatal("an alice session survived the kill-switch")
	}
	if !sessionAlive(t, a.Env, b) {
		t.Fatal("bob's session ended with alice's")
	}
	if n := a.count(t, path); n.Count != 0 {
		t.Fatalf("alice's count after DELETE: %d", n.Count)
	}
	if got := a.end(t, path); got != (adminEnded{}) {
		t.Fatalf("a second DELETE: %+v, want nothing ended", got)
	}
	if v := testenv.MetricValue(t, a.Scrape(t), `bff_sessions_ended_total{reason="admin"}`); v != "2" {
		t.Fatalf(`bff_sessions_ended_total{reason="admin"} = %s, want 2`, v)
	}
}

// TestAdminKillSwitchRefusesBadInput: an over-long subject, an idp without a provider
// list, a repeated idp: 400 problem+json, and nothing ends. A subject holding '/' or '|'
// is one percent-encoded segment.
func TestAdminKillSwitchRefusesBadInput(t *testing.T) {
	a := startAdmin(t, testenv.Options{}, nil)
	alice := loginCookie(t, a.Env, "alice")
	sub := aliceSub(t)
	for _, path := range []string{
		sessionsPath(strings.Repeat("a", 256)),
		sessionsPath("%FF%FE"),
		sessionsPath(sub) + "?idp=a",
		sessionsPath(sub) + "?idp=&idp=",
	} {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			resp := a.do(t, method, path)
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %.60s: %d %s", method, path, resp.StatusCode, body)
			}
		}
	}
	if !sessionAlive(t, a.Env, alice) {
		t.Fatal("a refused DELETE ended alice's session")
	}
	if n := a.count(t, sessionsPath(strings.Repeat("a", 255))); n.Count != 0 {
		t.Fatalf("255-byte subject: %+v", n)
	}
	if n := a.count(t, sessionsPath("auth0%7Cgroup%2Fuser")); n.Subject != "auth0|group/user" {
		t.Fatalf("encoded subject read as %q", n.Subject)
	}
}

// TestAdminKillSwitchWithSeveralProviders: ?idp= names the provider whose subject is
// meant (the same sub at another provider is another person): unknown names get a 400
// listing the configured ones; ending alice at b leaves her session at a.
func TestAdminKillSwitchWithSeveralProviders(t *testing.T) {
	var b *testenv.ExtraOP
	a := startAdmin(t, testenv.Options{}, func(t *testing.T, o testenv.Options) *testenv.Env {
		e, extra := testenv.StartTwoProviders(t, o)
		b = extra
		return e
	})
	atA, atB := a.NewClient(t), a.NewClient(t)
	a.LoginAt(t, atA, "a", "alice")
	a.LoginAt(t, atB, "b", "alice")
	path := sessionsPath(aliceSub(t))
	resp := a.do(t, http.MethodGet, path+"?idp=c")
	if body := testenv.ReadAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "a, b") {
		t.Fatalf("unknown idp: %d %s", resp.StatusCode, body)
	}
	if n := a.count(t, path); n.Count != 1 || n.Provider != "a" {
		t.Fatalf("default provider's count: %+v", n)
	}
	before := b.OP.Stats().Revocations
	if got := a.end(t, path+"?idp=b"); got != (adminEnded{Ended: 1, Revoked: 1}) {
		t.Fatalf("DELETE at b: %+v", got)
	}
	if b.OP.Stats().Revocations-before != 1 {
		t.Fatal("provider b did not see its refresh token revoked")
	}
	if a.UserStatus(t, atB) != http.StatusUnauthorized || a.UserStatus(t, atA) != http.StatusOK {
		t.Fatal("ending alice at b must end her b session only")
	}
}

// TestAdminKillSwitchEndsSessionsWhenRevocationFails: a provider that refuses the
// revocation does not keep a session alive; the answer counts the failure.
func TestAdminKillSwitchEndsSessionsWhenRevocationFails(t *testing.T) {
	var refuse atomic.Bool
	a := startAdmin(t, testenv.Options{WrapOP: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && strings.HasSuffix(r.URL.Path, "/revoke") {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}}, nil)
	alice := loginCookie(t, a.Env, "alice")
	refuse.Store(true)
	if got := a.end(t, sessionsPath(aliceSub(t))); got != (adminEnded{Ended: 1, RevokeFailed: 1}) {
		t.Fatalf("DELETE with the provider refusing revocation: %+v, want 1 ended, 1 failed", got)
	}
	if sessionAlive(t, a.Env, alice) {
		t.Fatal("alice's session survived a failed revocation")
	}
}
