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
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tokenward/bff/bench/internal/serve"
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
	return serve.Run(listen, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10})
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
