package idp

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"
)

// MaxResponseBytes caps every response body read from the IdP: discovery, JWKS, token
// and revocation answers.
const MaxResponseBytes = 1 << 20

// DefaultTimeout bounds one request to the IdP when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxResponseHeaderBytes caps the response headers of the IdP.
const maxResponseHeaderBytes = 64 << 10

// NewHTTPClient returns the client the Provider uses to talk to the IdP:
//   - it NEVER follows a redirect: a 3xx answer fails the request (a 307 from a token
//     endpoint would otherwise re-send the code, the verifier and the client secret to
//     wherever Location points);
//   - every response body is capped at MaxResponseBytes (a larger declared
//     Content-Length fails at once, a longer stream fails when it crosses the cap);
//   - dial, TLS handshake, response headers and the whole request (body included) are
//     each bounded by timeout (DefaultTimeout when timeout <= 0).
//
// Proxies come from the environment (HTTPS_PROXY, NO_PROXY) as with
// http.DefaultTransport. The client is safe for concurrent use.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           16,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	return &http.Client{
		Transport:     &limitTransport{base: transport, max: MaxResponseBytes},
		CheckRedirect: refuseRedirect,
		Timeout:       timeout,
	}
}

// hardenClient returns a copy of c that refuses redirects and caps bodies like
// NewHTTPClient, and has a whole-request timeout when c had none. c itself is not
// modified (it may be shared with other code).
func hardenClient(c *http.Client, timeout time.Duration) *http.Client {
	hc := *c
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if _, ok := base.(*limitTransport); !ok {
		base = &limitTransport{base: base, max: MaxResponseBytes}
	}
	hc.Transport = base
	hc.CheckRedirect = refuseRedirect
	if hc.Timeout <= 0 {
		hc.Timeout = timeout
	}
	return &hc
}

// refuseRedirect is an http.Client CheckRedirect that follows nothing. The 3xx
// response's body is closed by net/http and the request fails with errRedirectRefused.
func refuseRedirect(*http.Request, []*http.Request) error {
	return errRedirectRefused
}

// limitTransport caps response bodies at max bytes.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

// RoundTrip implements http.RoundTripper.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		_ = resp.Body.Close()
		return nil, errResponseTooLarge
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	return resp, nil
}

// limitedBody reads at most left bytes and fails, rather than truncating silently,
// when the stream holds more.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the cap: one more byte means the body is too large; EOF means it fit.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// readBody reads a whole (already capped) response body, failing when it is larger
// than MaxResponseBytes even if the transport was not a limitTransport.
func readBody(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResponseBytes {
		return nil, errResponseTooLarge
	}
	return body, nil
}
