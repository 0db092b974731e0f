package spademo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// DemoConfig configures Start. Zero values are fine: loopback ports 8080 (BFF), 8081
// (OP), 8082 (API), 9090 (admin).
type DemoConfig struct {
	// Listen, OPListen, APIListen, AdminListen are loopback host:port addresses
	// (port 0 picks a free one).
	Listen, OPListen, APIListen, AdminListen string
	// AccessTokenLifetime at the demo OP (default 60s, so the refresh is visible).
	AccessTokenLifetime time.Duration
	Logger              *slog.Logger
	// Configure edits the BFF configuration before the BFF starts (tests).
	Configure func(*config.Config)
	// Options are passed to bff.New after the demo's own (tests: e.g. bff.WithIdPClient
	// with a client that observes the token endpoint). They MUST keep the guarantees that
	// each option's doc comment states.
	Options []bff.Option
}

// Demo is a running demo: the OP, the API and the BFF, all in this process, on loopback.
type Demo struct {
	// URL is the SPA's address (the BFF), on localhost; the OP is on 127.0.0.1, another
	// site, so the redirect back from the OP is a real cross-site navigation. The BFF's
	// port also answers as 127.0.0.1 and [::1]: with a redirect to URL (see sameHost).
	URL    string
	OPURL  string
	Admin  string
	Users  []demoop.User
	OP     *demoop.OP
	BFF    *bff.Server
	errc   chan error
	closer []func()
}

// Start starts the demo and returns once every part is listening. Stop it by cancelling
// ctx and then calling Wait.
func Start(ctx context.Context, dc DemoConfig) (*Demo, error) {
	dc = dc.withDefaults()
	d := &Demo{errc: make(chan error, 3), Users: demoop.DefaultUsers()}
	ok := false
	defer func() {
		if !ok {
			d.close()
		}
	}()
	ls, err := listenAll(dc.Listen, dc.OPListen, dc.APIListen, dc.AdminListen)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		d.closer = append(d.closer, func() { _ = l.Close() })
	}
	d.URL = "http://localhost:" + port(ls[0])
	d.OPURL = "http://127.0.0.1:" + port(ls[1])
	d.Admin = "http://127.0.0.1:" + port(ls[3])
	secret, err := randomKey()
	if err != nil {
		return nil, err
	}
	if err := d.startOP(dc, ls[1], secret); err != nil {
		return nil, err
	}
	if err := d.startAPI(ctx, ls[2]); err != nil {
		return nil, err
	}
	cfg, err := d.bffConfig(dc, secret, "http://127.0.0.1:"+port(ls[2]))
	if err != nil {
		return nil, err
	}
	public, err := url.Parse(d.URL)
	if err != nil {
		return nil, fmt.Errorf("demo: public URL: %w", err)
	}
	opts := append([]bff.Option{bff.WithLogger(dc.Logger), bff.WithSPA(Files()), bff.WithPublicWrap(sameHost(public))}, dc.Options...)
	if d.BFF, err = bff.New(ctx, cfg, opts...); err != nil {
		return nil, fmt.Errorf("demo: bff: %w", err)
	}
	go func() { d.errc <- d.BFF.Serve(ctx, ls[0], ls[3]) }()
	ok = true
	return d, nil
}

func (dc DemoConfig) withDefaults() DemoConfig {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&dc.Listen, "127.0.0.1:8080")
	def(&dc.OPListen, "127.0.0.1:8081")
	def(&dc.APIListen, "127.0.0.1:8082")
	def(&dc.AdminListen, "127.0.0.1:9090")
	if dc.AccessTokenLifetime <= 0 {
		dc.AccessTokenLifetime = 60 * time.Second
	}
	if dc.Logger == nil {
		dc.Logger = slog.New(slog.DiscardHandler)
	}
	return dc
}

func listenAll(addrs ...string) ([]net.Listener, error) {
	var ls []net.Listener
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return nil, closeAll(ls, fmt.Errorf("demo: %q: %w", a, err))
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, closeAll(ls, fmt.Errorf("demo: %q: the demo listens on loopback only", a))
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			return nil, closeAll(ls, fmt.Errorf("demo: listen %s: %w", a, err))
		}
		ls = append(ls, l)
	}
	return ls, nil
}

func closeAll(ls []net.Listener, err error) error {
	for _, l := range ls {
		_ = l.Close()
	}
	return err
}

func port(l net.Listener) string { return fmt.Sprint(l.Addr().(*net.TCPAddr).Port) }

func randomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("demo: random: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func (d *Demo) startOP(dc DemoConfig, l net.Listener, secret string) error {
	op, err := demoop.New(demoop.Config{
		Issuer: d.OPURL,
		Clients: []demoop.Client{{
			ID: "bff-demo", Secret: secret,
			RedirectURIs:           []string{d.URL + "/bff/callback"},
			PostLogoutRedirectURIs: []string{d.URL + "/"},
			BackchannelLogoutURI:   d.URL + "/bff/backchannel-logout",
		}},
		AccessTokenLifetime: dc.AccessTokenLifetime,
		Logger:              dc.Logger,
	})
	if err != nil {
		return fmt.Errorf("demo: op: %w", err)
	}
	d.OP = op
	d.serve(l, op.Handler())
	return nil
}

func (d *Demo) startAPI(ctx context.Context, l net.Listener) error {
	api, err := NewAPI(ctx, d.OPURL, nil)
	if err != nil {
		return err
	}
	d.serve(l, api)
	return nil
}

func (d *Demo) serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	d.closer = append(d.closer, func() { _ = srv.Close() })
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.errc <- err
		}
	}()
}

func (d *Demo) bffConfig(dc DemoConfig, secret, api string) (config.Config, error) {
	key, err := randomKey()
	if err != nil {
		return config.Config{}, err
	}
	cfg := config.Defaults()
	cfg.Server.PublicURL = d.URL
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.OIDC.Issuer = d.OPURL
	cfg.OIDC.AllowInsecureIssuer = true
	cfg.OIDC.ClientID = "bff-demo"
	cfg.OIDC.ClientSecret = secret
	cfg.OIDC.PostLogoutRedirect = "/"
	cfg.Session.Keys = []string{key}
	cfg.Routes = []config.Route{{Name: "demo-api", Path: "/api/", Upstream: api, StripPrefix: "/api"}}
	if dc.Configure != nil {
		dc.Configure(&cfg)
	}
	return cfg, nil
}

// Wait blocks until the BFF has shut down (after ctx ends) or a part fails, then stops
// the OP and the API.
func (d *Demo) Wait() error {
	err := <-d.errc
	d.close()
	return err
}

func (d *Demo) close() {
	for i := len(d.closer) - 1; i >= 0; i-- {
		d.closer[i]()
	}
	d.closer = nil
}
