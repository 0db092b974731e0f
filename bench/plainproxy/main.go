// Command plainproxy is the benchmark's baseline: the reverse proxy anyone would write
// with the standard library, and nothing else. httputil.ReverseProxy with Rewrite (strip
// the route prefix, SetURL, SetXForwarded), an upstream transport tuned like the BFF's
// (keep-alive pool of 128 per host, no compression), and the BFF's http.Server limits. No
// session, no token, no CSRF check, no buffer pool (ReverseProxy's default).
//
//	plainproxy -listen 127.0.0.1:0 -upstream http://127.0.0.1:9000 -strip /api
//
// Its first line on stdout is "listening on http://HOST:PORT". It stops on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "upstream base URL (required)")
	strip := flag.String("strip", "/api", "path prefix removed before proxying")
	flag.Parse()
	if err := run(*listen, *upstream, *strip); err != nil {
		fmt.Fprintln(os.Stderr, "plainproxy:", err)
		os.Exit(1)
	}
}

func run(listen, upstream, strip string) error {
	h, err := New(upstream, strip)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	fmt.Printf("listening on http://%s\n", l.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// New returns the plain reverse proxy to upstream, removing strip from request paths.
func New(upstream, strip string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: not an absolute http(s) URL", upstream)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if p := strings.TrimPrefix(pr.Out.URL.Path, strip); p != pr.Out.URL.Path {
				pr.Out.URL.Path, pr.Out.URL.RawPath = p, ""
			}
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport: Transport(),
	}, nil
}

// Transport has the settings of the BFF's upstream transport (proxy.newUpstreamTransport).
func Transport() *http.Transport {
	return &http.Transport{
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    128,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,
	}
}
