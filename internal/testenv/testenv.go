// Package testenv starts a whole BFF stack in process for tests: the in-process OpenID
// provider (spa-demo/demoop, on the certified zitadel op library), an upstream API that
// records what it receives, and a BFF on TLS (so that Secure cookies behave as in
// production), with a cookie-jar client. It is a test helper: nothing outside tests
// imports it.
package testenv

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// ClientID and ClientSecret of the BFF at the test OP.
const (
	ClientID     = "bff"
	ClientSecret = "test-client-secret-0123456789"
)

// Options adjust Start.
type Options struct {
	// AccessTokenLifetime at the OP (default 60s).
	AccessTokenLifetime time.Duration
	// Configure edits the BFF config before New.
	Configure func(*config.Config)
	// BFFOptions are passed to bff.New.
	BFFOptions []bff.Option
	// Log receives the BFF's logs (default: discarded unless BFF_TEST_LOG=1).
	Log io.Writer
	// SkipReady does not wait for readiness (tests of a broken store or IdP).
	SkipReady bool
	// OmitSID makes the OP issue tokens without a sid claim (Cognito, some Entra setups).
	OmitSID bool
	// PublicHost, when set, is the host name (resolving to loopback for the test's
	// browser, e.g. app.bff.test) of the BFF's public URL and redirect URIs instead of
	// 127.0.0.1. Go clients still reach the BFF through Server.URL.
	PublicHost string
	// RefreshGracePeriod at the OP (default 0: strict rotation, a reused refresh token
	// revokes the family).
	RefreshGracePeriod time.Duration
	// WrapOP, when set, wraps the OP's handler (e.g. to alter its token responses).
	WrapOP func(http.Handler) http.Handler
	// ClientKeyPEM, when set, registers the BFF's client at the OP with this private key's
	// public half (private_key_jwt, kid its thumbprint) and no secret, and configures the
	// BFF with oidc.tokenEndpointAuth private_key_jwt and this oidc.clientKey.
	ClientKeyPEM string
	// ExtraUsers adds that many accounts at the OP beside alice and bob: ExtraUser(i) for
	// i in [0, ExtraUsers), each with its own subject (tests that need many users, e.g.
	// more streams than one user may open).
	ExtraUsers int
}

// Env is a running stack.
type Env struct {
	OP       *demoop.OP
	OPServer *httptest.Server
	Upstream *Upstream
	BFF      *bff.Server
	Server   *httptest.Server // the BFF's public listener (TLS)
	Config   config.Config
	Client   *http.Client // cookie jar, does not follow redirects
	// PublicURL is the BFF's configured public origin (Server.URL unless PublicHost).
	PublicURL string
	logger    *slog.Logger
}

// Start builds and starts the stack; everything stops at the end of the test.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	e := &Env{Upstream: NewUpstream(t)}
	e.startOP(t, o)
	e.startBFF(t, o)
	return e
}

func (e *Env) startOP(t testing.TB, o Options) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bffL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "https://" + bffL.Addr().String()
	if o.PublicHost != "" {
		public = "https://" + net.JoinHostPort(o.PublicHost, strconv.Itoa(bffL.Addr().(*net.TCPAddr).Port))
	}
	e.PublicURL = public
	client := demoop.Client{
		ID: ClientID, Secret: ClientSecret,
		RedirectURIs:           []string{public + "/bff/callback"},
		PostLogoutRedirectURIs: []string{public + "/"},
		BackchannelLogoutURI:   public + "/bff/backchannel-logout",
	}
	if o.ClientKeyPEM != "" {
		client.Secret, client.PublicKey = "", clientPublicJWK(t, o.ClientKeyPEM)
	}
	op, err := demoop.New(demoop.Config{
		Issuer:              "http://" + l.Addr().String(),
		Clients:             []demoop.Client{client},
		AccessTokenLifetime: o.AccessTokenLifetime,
		OmitSID:             o.OmitSID,
		RefreshGracePeriod:  o.RefreshGracePeriod,
		Users:               users(o.ExtraUsers),
	})
	if err != nil {
		t.Fatalf("demoop: %v", err)
	}
	e.OP = op
	var h http.Handler = op.Handler()
	if o.WrapOP != nil {
		h = o.WrapOP(h)
	}
	e.OPServer = httptest.NewUnstartedServer(h)
	_ = e.OPServer.Listener.Close()
	e.OPServer.Listener = l
	e.OPServer.Start()
	t.Cleanup(e.OPServer.Close)
	e.Server = httptest.NewUnstartedServer(nil)
	_ = e.Server.Listener.Close()
	e.Server.Listener = bffL
}

func (e *Env) startBFF(t testing.TB, o Options) {
	t.Helper()
	cfg := config.Defaults()
	cfg.Server.PublicURL = e.PublicURL
	cfg.OIDC.Issuer = e.OPServer.URL
	cfg.OIDC.AllowInsecureIssuer = true
	cfg.OIDC.ClientID = ClientID
	cfg.OIDC.ClientSecret = ClientSecret
	cfg.Session.Keys = []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	cfg.Routes = []config.Route{{Path: "/api/", Upstream: e.Upstream.URL, StripPrefix: "/api"}}
	if o.ClientKeyPEM != "" {
		cfg.OIDC.TokenEndpointAuth, cfg.OIDC.ClientSecret, cfg.OIDC.ClientKey = "private_key_jwt", "", o.ClientKeyPEM
	}
	if url := RedisURL(); url != "" {
		cfg.Session.Store, cfg.Session.RedisURL = "redis", url
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	e.Config = cfg
	logw := o.Log
	if logw == nil {
		logw = io.Discard
		if os.Getenv("BFF_TEST_LOG") == "1" {
			logw = os.Stderr
		}
	}
	e.logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := append([]bff.Option{
		bff.WithLogger(e.logger),
		bff.WithSPA(fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>spa</title>")}}),
	}, o.BFFOptions...)
	srv, err := bff.New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("bff.New: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Cleanup(func() { checkNoOtherOutcomes(t, srv) })
	e.BFF = srv
	e.Server.Config.Handler = srv.Handler()
	e.Server.StartTLS()
	t.Cleanup(e.Server.Close)
	e.Client = e.NewClient(t)
	if !o.SkipReady {
		e.WaitReady(t)
	}
}

// RedisURL is the real Redis the tests should also use (BFF_TEST_REDIS_URL), or "".
func RedisURL() string { return os.Getenv("BFF_TEST_REDIS_URL") }

// Replica is a second BFF with the same configuration (and so the same store and keys).
type Replica struct {
	BFF *bff.Server
	*httptest.Server
}

// AddReplica starts another BFF replica of e's configuration on its own TLS listener. The
// configuration must use a shared store (session.store=redis) for the replicas to share
// sessions. Its URL differs from e's, so requests to it must carry the cookies by hand.
func (e *Env) AddReplica(t testing.TB) *Replica {
	return e.AddReplicaWith(t, nil)
}

// AddReplicaWith is AddReplica with edit applied to a copy of e's configuration (e.g. a
// rotated key ring).
func (e *Env) AddReplicaWith(t testing.TB, edit func(*config.Config)) *Replica {
	t.Helper()
	return e.AddReplicaOpts(t, edit)
}

// AddReplicaOpts is AddReplicaWith with options for bff.New (e.g. the first replica's
// injected clock).
func (e *Env) AddReplicaOpts(t testing.TB, edit func(*config.Config), opts ...bff.Option) *Replica {
	t.Helper()
	cfg := e.Config
	cfg.Session.Keys = append([]string(nil), cfg.Session.Keys...)
	if edit != nil {
		edit(&cfg)
	}
	srv, err := bff.New(context.Background(), cfg, append([]bff.Option{bff.WithLogger(e.logger.With("replica", 2))}, opts...)...)
	if err != nil {
		t.Fatalf("replica: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Cleanup(func() { checkNoOtherOutcomes(t, srv) })
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.TLS = e.Server.TLS
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return &Replica{BFF: srv, Server: ts}
}

// NewClient returns a client with its own cookie jar that trusts the BFF's certificate
// and does not follow redirects.
func (e *Env) NewClient(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := e.Server.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: e.Server.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	return &http.Client{
		Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// WaitReady waits until discovery is done.
func (e *Env) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := e.BFF.Ready(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("BFF not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL is the BFF's public URL joined with path.
func (e *Env) URL(path string) string { return e.Server.URL + path }

// Login runs the whole login of user through c (e.Client when nil) and returns the
// callback's response (a 302 to returnTo on success).
func (e *Env) Login(t testing.TB, c *http.Client, user, returnTo string) *http.Response {
	t.Helper()
	if c == nil {
		c = e.Client
	}
	callback := e.Authorize(t, c, user, returnTo)
	resp, err := c.Get(callback.String())
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	resp.Body.Close()
	return resp
}

// Authorize starts a login at the BFF and logs user in at the OP, returning the callback
// URL the OP redirects to (not yet requested).
func (e *Env) Authorize(t testing.TB, c *http.Client, user, returnTo string) *url.URL {
	t.Helper()
	q := ""
	if returnTo != "" {
		q = "?returnTo=" + url.QueryEscape(returnTo)
	}
	resp, err := c.Get(e.URL("/bff/login" + q))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	authURL := resp.Header.Get("Location")
	cb, err := demoop.LoginHeadless(context.Background(), &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, authURL, user, Password(user))
	if err != nil {
		t.Fatalf("OP login: %v", err)
	}
	return cb
}

// users are the demo accounts plus n extra ones (ExtraUser).
func users(n int) []demoop.User {
	us := demoop.DefaultUsers()
	for i := range n {
		name := ExtraUser(i)
		us = append(us, demoop.User{Username: name, Password: Password(name),
			Subject: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Name: name})
	}
	return us
}

// ExtraUser is the name of the i-th account of Options.ExtraUsers.
func ExtraUser(i int) string { return fmt.Sprintf("user-%d", i) }

// Password of a demo user (or of an ExtraUser).
func Password(user string) string {
	if strings.HasPrefix(user, "user-") {
		return "pw-" + user
	}
	for _, u := range demoop.DefaultUsers() {
		if u.Username == user {
			return u.Password
		}
	}
	return ""
}

// Do sends a request with the CSRF header (a well-behaved SPA) through c.
func (e *Env) Do(t testing.TB, c *http.Client, method, path string, body io.Reader) *http.Response {
	t.Helper()
	if c == nil {
		c = e.Client
	}
	req, err := http.NewRequest(method, e.URL(path), body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// JSON decodes resp's body into v and closes it.
func JSON(t testing.TB, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

// Upstream is an API that records the requests it receives.
type Upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
	// Status, when set, is answered instead of 200 (tests flip it).
	Status func(r *http.Request) int
}

// NewUpstream starts a recording upstream; it echoes method, path and the bearer's
// presence as JSON.
func NewUpstream(t testing.TB) *Upstream {
	u := &Upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		status := u.Status
		u.mu.Unlock()
		if status != nil {
			if s := status(r); s != 0 {
				w.WriteHeader(s)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path,
			"bearer": strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "),
		})
	}))
	t.Cleanup(u.Close)
	return u
}

// Seen returns a copy of the headers of every request so far.
func (u *Upstream) Seen() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// clientPublicJWK is the public JWK (kid: RFC 7638 thumbprint) of a PEM private key.
func clientPublicJWK(t testing.TB, pemKey string) *jose.JSONWebKey {
	t.Helper()
	key, err := config.ParsePrivateKey(pemKey)
	if err != nil {
		t.Fatalf("client key: %v", err)
	}
	kid, err := idp.ClientKeyID(key)
	if err != nil {
		t.Fatal(err)
	}
	return &jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: "RS256", Use: "sig"}
}

// Serve runs srv through bff.Server.Serve (the stack `bff serve` runs: net/http, the
// framing guard) on plain loopback listeners until the end of the test, and returns the
// public listener's address.
func Serve(t testing.TB, srv *bff.Server) string {
	t.Helper()
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pub, adm) }()
	t.Cleanup(func() {
		stop()
		<-done
	})
	return pub.Addr().String()
}
