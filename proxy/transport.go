package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/problem"
)

// maxDrain bounds how much of a discarded 401 body is read to reuse its connection.
const maxDrain = 64 << 10

// newUpstreamTransport returns the tuned transport one upstream's routes share.
//
//   - Keep-alive pools sized for a proxy (MaxIdleConnsPerHost 128, the default is 2).
//   - Bounded dial, TLS handshake and 100-continue waits; response headers at most 1 MiB.
//     The response-header timeout is per route (exchangeTransport), not here.
//   - HTTP/2 only where TLS negotiates it (ALPN); never cleartext HTTP/2. Websocket
//     handshakes are sent over HTTP/1.1 by the transport itself.
//   - No environment proxy: a bearer goes to the configured upstream and nowhere else.
//   - No transparent compression: Accept-Encoding and the body pass through unchanged.
func newUpstreamTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    128,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true,
	}
}

// exchangeTransport wraps an upstream's base transport with what needs the exchange: the
// route's response-header timeout and the one forced-refresh retry after a 401. It is
// stateless and safe for concurrent use; ReverseProxy calls it on the request's goroutine.
type exchangeTransport struct {
	base http.RoundTripper
}

// RoundTrip sends req. On a 401 to a replayable request (a credential was sent, retry is
// on, the body is empty or buffered) it asks the request's credential source for a forced
// refresh once and re-sends once with the new credential. When that forced refresh fails:
//   - with a 401 *problem.Error (session_expired: the session is over), that problem is
//     the answer, so the SPA learns the user must log in again;
//   - with anything else (IdP or store unavailable, no session, ErrNoRetry), the
//     upstream's own 401 is passed through unchanged: the refresh failure is logged, not
//     exposed.
func (t *exchangeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	x := exchangeFrom(req.Context())
	if x == nil {
		return t.base.RoundTrip(req)
	}
	resp, err := x.send(t.base, req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !x.replayable {
		return resp, err
	}
	if x.challenged {
		// A DPoP upstream asking for its nonce (RFC 9449 §9): the token is fine, so the
		// one retry re-sends with a proof carrying the nonce, and no refresh. The nonce is
		// already remembered (send), so a request that cannot be replayed still teaches
		// the next one.
		x.replayable = false
		discard(resp)
		return x.send(t.base, x.again(req))
	}
	x.replayable = false
	return x.retryWithFreshToken(t.base, req, resp)
}

// again is req re-made for one more attempt: x.cred applied afresh (a new proof for a
// proof-of-possession kind) and the buffered body re-read.
func (x *exchange) again(req *http.Request) *http.Request {
	again := req.Clone(req.Context())
	x.applyErr = x.cred.Apply(again)
	again.Body = x.replayBody()
	again.GetBody = func() (io.ReadCloser, error) { return x.replayBody(), nil }
	return again
}

// send performs one attempt under the route's response-header timeout, which starts when
// the request has been sent whole (startAttempt).
func (x *exchange) send(base http.RoundTripper, req *http.Request) (*http.Response, error) {
	if x.applyErr != nil {
		return nil, fmt.Errorf("proxy: route %s: applying the credential: %w", x.route.name, x.applyErr)
	}
	x.startAttempt()
	start := time.Now()
	resp, err := base.RoundTrip(req)
	if obs := x.route.p.observe; obs != nil {
		obs(x.route.name, time.Since(start))
	}
	if x.header.disarm() {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, fmt.Errorf("proxy: route %s: %w", x.route.name, errHeaderTimeout)
	}
	if err != nil {
		return nil, err
	}
	if resp.Request == nil {
		resp.Request = req
	}
	x.learnNonce(resp)
	return resp, nil
}

// learnNonce lets a proof-of-possession credential read every answer of the upstream:
// a DPoP server may hand out its next nonce on any response, a 2xx included (RFC 9449
// §8.2), and a use_dpop_nonce 401 must be learnt even when the request cannot be re-sent,
// or every later request would be refused too. x.challenged says whether resp was such a
// 401, for RoundTrip's one re-send.
func (x *exchange) learnNonce(resp *http.Response) {
	x.challenged = false
	if c, ok := x.cred.(credential.Challenger); ok {
		x.challenged = c.Challenge(resp)
	}
}

func (x *exchange) retryWithFreshToken(base http.RoundTripper, req *http.Request, first *http.Response) (*http.Response, error) {
	sess, err := x.src.Get(x.in.Context(), true)
	if err == nil && sess.Credential == nil {
		err = credential.ErrNoSession
	}
	if err != nil {
		return x.refreshFailed(first, err)
	}
	discard(first)
	x.cred = sess.Credential // the identity headers stay: a refresh keeps the subject
	return x.send(base, x.again(req))
}

func (x *exchange) refreshFailed(first *http.Response, err error) (*http.Response, error) {
	if errors.Is(err, credential.ErrNoRetry) {
		x.route.p.log.LogAttrs(x.in.Context(), slog.LevelDebug,
			"proxy: forced refresh declined (cooldown); passing the upstream's 401 through",
			slog.String("route", x.route.name))
		return first, nil
	}
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Status == http.StatusUnauthorized {
		discard(first)
		return nil, pe
	}
	attrs := []slog.Attr{slog.String("route", x.route.name)}
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("type", string(pe.Type)))
	} else {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	x.route.p.log.LogAttrs(x.in.Context(), slog.LevelWarn,
		"proxy: forced refresh after upstream 401 failed; passing the 401 through", attrs...)
	return first, nil
}

// discard drains (bounded) and closes a response body so its connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()
}
