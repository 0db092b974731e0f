package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tokenward/bff/spa-demo/demoop"
)

// The stack under test, besides the upstream that bench/run starts: the demo OpenID
// provider in this process (used for the login only), the BFF and the plain proxy as
// subprocesses.

const (
	benchClientID    = "bench"
	benchUser        = "alice"
	sessionCookie    = "__Host-bff"
	readyTimeout     = 20 * time.Second
	maxSanityBody    = 1 << 20
	httpCheckTimeout = 10 * time.Second
)

// opServer is the in-process OP and its listener.
type opServer struct {
	op     *demoop.OP
	srv    *http.Server
	issuer string
}

// startOP serves a demo OP on loopback with one client whose redirect URIs are the
// callbacks of publicURLs (one per BFF). Access tokens live tokenLifetime: long enough that
// no refresh happens.
func startOP(publicURLs []string, secret string, tokenLifetime time.Duration) (*opServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("op: %w", err)
	}
	issuer := "http://" + l.Addr().String()
	client := demoop.Client{ID: benchClientID, Secret: secret}
	for _, u := range publicURLs {
		client.RedirectURIs = append(client.RedirectURIs, u+"/bff/callback")
		client.PostLogoutRedirectURIs = append(client.PostLogoutRedirectURIs, u+"/")
	}
	op, err := demoop.New(demoop.Config{
		Issuer: issuer, Clients: []demoop.Client{client}, AccessTokenLifetime: tokenLifetime,
	})
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("op: %w", err)
	}
	srv := &http.Server{Handler: op.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &opServer{op: op, srv: srv, issuer: issuer}, nil
}

func (o *opServer) close() { _ = o.srv.Close() }

// bffSetup is what the BFF's configuration file needs.
type bffSetup struct {
	listen, admin, issuer, secret, redisURL, upstream, logLevel string
	// cacheTTL is session.cacheTTL ("1s", "0s"); "" leaves the key out (the BFF's
	// default; builds that predate the key refuse it).
	cacheTTL string
}

// writeBFFConfig writes the YAML configuration of the BFF called name (mode 0600: it holds
// the client secret and the session key) and returns its path. The session key is fresh
// for every run.
func writeBFFConfig(dir, name string, s bffSetup) (string, error) {
	key, err := randomString(32)
	if err != nil {
		return "", err
	}
	doc := map[string]any{
		"server": map[string]any{"listen": s.listen, "adminListen": s.admin, "publicURL": "http://" + s.listen},
		"oidc": map[string]any{
			"issuer": s.issuer, "clientID": benchClientID, "clientSecret": s.secret,
			"allowInsecureIssuer": true,
		},
		"session": map[string]any{"store": "redis", "redisURL": s.redisURL, "keys": []string{key}},
		"routes":  []map[string]any{{"path": "/api/", "upstream": s.upstream, "stripPrefix": "/api"}},
		"log":     map[string]any{"format": "json", "level": s.logLevel},
		// The harness logs in -sessions users from one address: the per-IP login limit
		// would stop it (and costs nothing on the proxied path being measured).
		"rateLimit": map[string]any{"perMinute": 0},
	}
	if s.cacheTTL != "" {
		doc["session"].(map[string]any)["cacheTTL"] = s.cacheTTL
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("bff config: %w", err)
	}
	file := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return "", fmt.Errorf("bff config: %w", err)
	}
	return file, nil
}

// randomString is n random bytes in standard base64 (a session key, a client secret).
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// login signs benchUser in through the BFF the way a browser does (BFF /bff/login →
// OP login form → BFF callback) and returns the session cookie's value.
func login(ctx context.Context, bffURL string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	c := &http.Client{
		Jar: jar, Timeout: httpCheckTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start, err := expectRedirect(ctx, c, bffURL+"/bff/login?returnTo=/")
	if err != nil {
		return "", fmt.Errorf("login: /bff/login: %w", err)
	}
	callback, err := demoop.LoginHeadless(ctx, c, start, benchUser, password(benchUser))
	if err != nil {
		return "", fmt.Errorf("login: at the OP: %w", err)
	}
	if _, err := expectRedirect(ctx, c, callback.String()); err != nil {
		return "", fmt.Errorf("login: callback: %w", err)
	}
	u, _ := url.Parse(bffURL)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == sessionCookie {
			return ck.Value, nil
		}
	}
	return "", errors.New("login: the callback set no session cookie")
}

func password(user string) string {
	for _, u := range demoop.DefaultUsers() {
		if u.Username == user {
			return u.Password
		}
	}
	return ""
}

// expectRedirect GETs target and returns the Location of its 302.
func expectRedirect(ctx context.Context, c *http.Client, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxSanityBody))
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("status %d, want 302", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

// getOK GETs target and wants a 200.
func getOK(ctx context.Context, target string) error {
	_, err := fetch(ctx, target, nil)
	return err
}

// fetch GETs target with headers and returns the body of a 200 (at most maxSanityBody).
func fetch(ctx context.Context, target string, headers [][2]string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, httpCheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSanityBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return body, nil
}

// loginAttempts bounds the tries of one login: a browser whose sign-in failed (a 503 when
// the shared bench Redis stalled past the BFF's operation timeout) signs in again, and one
// such failure among 20,000 logins should not void a run.
const loginAttempts = 3

// loginMany logs n sessions in with login, loginParallel at a time, each tried up to
// loginAttempts times; it returns their cookies and how many attempts failed and were
// retried.
func loginMany(ctx context.Context, n int, login func(context.Context) (string, error)) ([]string, int, error) {
	if n < 1 {
		n = 1
	}
	cookies := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, loginParallel)
	var retried atomic.Int64
	var wg sync.WaitGroup
	for i := range cookies {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var err error
			for attempt := range loginAttempts {
				if attempt > 0 {
					retried.Add(1)
				}
				if cookies[i], err = login(ctx); err == nil || ctx.Err() != nil {
					break
				}
			}
			if err != nil {
				errs <- fmt.Errorf("session %d (%d attempts): %w", i, loginAttempts, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, int(retried.Load()), err
	}
	return cookies, int(retried.Load()), nil
}
