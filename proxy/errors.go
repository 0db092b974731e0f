package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/tokenward/bff/problem"
)

// handleError is every route's ErrorHandler (the shape of caddy's reverse proxy error
// mapping): a *problem.Error (a failed forced refresh) is rendered as it is; the client
// gone is 499 without a body; a body past the route's maxRequestBody is 413 bad_request;
// a client whose body stopped arriving (uploadIdleTimeout) is 408 bad_request; a
// response-header timeout, or an upstream that stopped taking the body, is 504
// upstream_unavailable; anything
// else (dial, TLS, reset, bad upstream response) is 502 upstream_unavailable. The error
// text never reaches the client; the log line names route, method and path, never the
// query or a header.
func (p *Proxy) handleError(w http.ResponseWriter, out *http.Request, err error) {
	x := exchangeFrom(out.Context())
	var pe *problem.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &pe):
		problem.Write(w, pe)
	case errors.As(err, &tooBig):
		// routes[].maxRequestBody cut a streaming body: the client's fault, not the
		// upstream's, and the upstream saw the request aborted.
		writeTooLarge(w)
	case uploadStalled(x, err):
		// Before clientGone: the server cancels the request's context when the read
		// deadline that ended the stalled read passes, but the client is still there.
		writeUploadStalled(w)
	case clientGone(x, err):
		w.WriteHeader(statusClientClosedRequest)
	case timedOut(x, err):
		p.logUpstreamError(out, x, err)
		problem.Write(w, problem.New(http.StatusGatewayTimeout, problem.UpstreamUnavailable, "the upstream did not answer in time", nil))
	default:
		p.logUpstreamError(out, x, err)
		problem.Write(w, problem.New(http.StatusBadGateway, problem.UpstreamUnavailable, "the upstream is unavailable", nil))
	}
}

func clientGone(x *exchange, err error) bool {
	if x == nil {
		return errors.Is(err, context.Canceled)
	}
	return x.in.Context().Err() != nil
}

func timedOut(x *exchange, err error) bool {
	if errors.Is(err, errHeaderTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if x == nil {
		return false
	}
	cause := context.Cause(x)
	return errors.Is(cause, errHeaderTimeout) || errors.Is(cause, errUpstreamStalled)
}

func (p *Proxy) logUpstreamError(out *http.Request, x *exchange, err error) {
	name, path := "", out.URL.Path
	if x != nil {
		name, path = x.route.name, x.in.URL.Path
	}
	p.log.LogAttrs(out.Context(), slog.LevelWarn, "proxy: upstream request failed",
		slog.String("route", name), slog.String("method", out.Method),
		slog.String("path", path), slog.String("error", redact(err)))
}

// redact returns err's text without the URL a *url.Error carries (its query could hold
// anything the client sent).
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + redact(ue.Err)
	}
	return err.Error()
}
