package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// readmeBlock is the README's shell block for running the BFF in front of your own SPA
// and IdP: the first ```sh block after that sentence.
func readmeBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "To run the BFF in front of your own SPA and IdP")
	if i < 0 {
		t.Fatal("the README lost its section on running the BFF in front of your own SPA and IdP")
	}
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme[i:])
	if m == nil {
		t.Fatal("no ```sh block after the section's first sentence")
	}
	return m[1]
}

// TestReadmeOwnSPAAndIdPWorksVerbatim runs the README's "your own SPA and IdP" block
// through the CLI's entry function: the same commands, the same YAML, in a fresh working
// directory, so a reader who copies it gets a BFF that checks out and logs a user in.
//
// Substitutions (what a reader supplies, and what a test machine needs):
//   - `go install` is not run: this test IS the binary (a.run is main's entry function);
//   - oidc.issuer "https://idp.example.com" becomes the in-process OpenID provider
//     (spa-demo/demoop) on loopback, where the README's client "spa" is registered with
//     the secret the test writes into client.secret (the block's printf placeholder);
//   - the ports 8080 and 9090 become free ones (another process may hold them);
//   - ./dist gets an index.html (your SPA's build output).
func TestReadmeOwnSPAAndIdPWorksVerbatim(t *testing.T) {
	block := readmeBlock(t)
	for _, want := range []string{
		"go install github.com/tokenward/bff/cmd/bff@latest",
		"bff keygen > session.key",
		"> client.secret",
		"bff check --config bff.yaml",
		"bff serve --config bff.yaml",
	} {
		if !strings.Contains(block, want) {
			t.Fatalf("the README block lacks %q:\n%s", want, block)
		}
	}
	yamlText := regexp.MustCompile(`(?s)<<'YAML'\n(.*?)\nYAML\n`).FindStringSubmatch(block)
	if yamlText == nil {
		t.Fatalf("no <<'YAML' heredoc in the README block:\n%s", block)
	}
	for _, want := range []string{`listen: "127.0.0.1:8080"`, `publicURL: "http://127.0.0.1:8080"`, `issuer: "https://idp.example.com"`} {
		if !strings.Contains(yamlText[1], want) {
			t.Fatalf("the README's YAML lacks %s:\n%s", want, yamlText[1])
		}
	}

	publicPort, adminPort := freePort(t), freePort(t)
	public := "http://127.0.0.1:" + publicPort
	const secret = "readme-client-secret-0123456789"
	issuer := startReadmeOP(t, public, secret)
	yaml := strings.NewReplacer(
		"https://idp.example.com", issuer,
		"127.0.0.1:8080", "127.0.0.1:"+publicPort,
		"127.0.0.1:9090", "127.0.0.1:"+adminPort,
	).Replace(yamlText[1])

	dir := t.TempDir()
	t.Chdir(dir)
	var key strings.Builder
	if code := newApp(&key, new(strings.Builder), nil).run(context.Background(), []string{"keygen"}); code != exitOK {
		t.Fatalf("keygen: exit %d", code)
	}
	for name, content := range map[string]string{
		"session.key":     key.String(),
		"client.secret":   secret,
		"bff.yaml":        yaml,
		"dist/index.html": "<!doctype html><title>my spa</title>",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var stdout, stderr strings.Builder
	if code := newApp(&stdout, &stderr, nil).run(context.Background(), []string{"check", "--config", "bff.yaml"}); code != exitOK {
		t.Fatalf("bff check: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, uri := range []string{public + "/bff/callback", public + "/\n", public + "/bff/backchannel-logout"} {
		if !strings.Contains(stdout.String(), uri) {
			t.Errorf("bff check does not print %q to register:\n%s", uri, stdout.String())
		}
	}
	if !strings.Contains(stdout.String(), "discovery OK") {
		t.Errorf("bff check did not discover the IdP:\n%s", stdout.String())
	}

	serveAndLogIn(t, public, "http://127.0.0.1:"+adminPort)
}

// serveAndLogIn runs `bff serve --config bff.yaml` until the end of the test and logs
// alice in through it with a Go client.
func serveAndLogIn(t *testing.T, public, admin string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var serveOut logbuf.Buffer
	code := exitOK
	go func() {
		defer wg.Done()
		code = newApp(&serveOut, &serveOut, nil).run(ctx, []string{"serve", "--config", "bff.yaml"})
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if code != exitOK {
			t.Errorf("bff serve: exit %d\n%s", code, serveOut.String())
		}
	})
	waitReady(t, admin, &serveOut)

	bffHost := strings.TrimPrefix(public, "http://")
	c := &http.Client{Jar: &hostJar{host: bffHost}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.Get(public + "/bff/login")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusFound {
		t.Fatalf("/bff/login: %d", r.StatusCode)
	}
	cb, err := demoop.LoginHeadless(context.Background(), &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, r.Header.Get("Location"), "alice", demoop.DefaultUsers()[0].Password)
	if err != nil {
		t.Fatalf("login at the OP: %v", err)
	}
	if r, err = c.Get(cb.String()); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), serveOut.String())
	}
	req, _ := http.NewRequest(http.MethodGet, public+"/bff/user", nil)
	req.Header.Set("X-CSRF", "1")
	if r, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/bff/user after login: %d", r.StatusCode)
	}
}

// startReadmeOP runs the in-process OpenID provider with the README's client "spa"
// registered for the BFF at public, and returns its issuer.
func startReadmeOP(t *testing.T, public, secret string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	op, err := demoop.New(demoop.Config{Issuer: issuer, Clients: []demoop.Client{{
		ID: "spa", Secret: secret,
		RedirectURIs:           []string{public + "/bff/callback"},
		PostLogoutRedirectURIs: []string{public + "/"},
		BackchannelLogoutURI:   public + "/bff/backchannel-logout",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(op.Handler())
	_ = srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// waitReady polls /readyz; the deadline only bounds a failure.
func waitReady(t *testing.T, admin string, logs *logbuf.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err := http.Get(admin + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("bff serve never became ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostJar keeps the cookies of one host:port, Secure ones included: browsers send
// Secure cookies to http://127.0.0.1 (a secure context), Go's cookiejar does not.
type hostJar struct {
	mu      sync.Mutex
	host    string
	cookies map[string]*http.Cookie
}

func (j *hostJar) SetCookies(u *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if u.Host != j.host {
		return
	}
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *hostJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	if u.Host != j.host {
		return nil
	}
	out := make([]*http.Cookie, 0, len(j.cookies))
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}
