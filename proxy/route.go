package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/problem"
)

// statusClientClosedRequest is the de-facto status (nginx, caddy) for a client that went
// away before the response; it is logged and never seen by the client.
const statusClientClosedRequest = 499

// route is one configured route: its handler is what Match returns. Immutable after New.
type route struct {
	p           *Proxy
	name        string
	prefix      string // route path, e.g. "/api/"
	lowerPrefix string
	strip       string
	upstream    *url.URL
	auth        Auth
	retry       bool
	timeout     time.Duration
	uploadIdle  time.Duration
	maxBody     int64    // request body bound in bytes; 0: none
	methods     []string // empty: all
	allow       string   // Allow header for 405
	rp          *httputil.ReverseProxy

	// passEncodedSlashes: a path with %2F may be routed here and reaches the upstream
	// with its %2F intact (RawPath), see Proxy.Match.
	passEncodedSlashes bool
	identity           IdentityHeaders       // headers that carry the user to the upstream
	token              *credential.TokenSpec // the route's token spec; nil: the session's token
}

func (p *Proxy) newRoute(rc Route, rt http.RoundTripper, pool *bufferPool) (*route, error) {
	r := &route{
		p:           p,
		name:        rc.Name,
		prefix:      rc.Path,
		lowerPrefix: strings.ToLower(rc.Path),
		strip:       rc.StripPrefix,
		auth:        rc.Auth,
		retry:       rc.RetryOn401,
		maxBody:     rc.MaxRequestBody,
		timeout:     rc.Timeout,
		uploadIdle:  rc.UploadIdleTimeout,
		methods:     rc.Methods,
		allow:       strings.Join(rc.Methods, ", "),

		passEncodedSlashes: rc.PassEncodedSlashes,
		identity:           rc.IdentityHeaders,
		token:              rc.Token,
	}
	if r.name == "" {
		r.name = rc.Path
	}
	if r.auth == "" {
		r.auth = AuthRequired
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if r.uploadIdle == 0 {
		r.uploadIdle = DefaultUploadIdleTimeout
	}
	if err := r.setUpstream(rc.Upstream); err != nil {
		return nil, fmt.Errorf("proxy: route %q: %w", rc.Path, err)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("proxy: route %q: %w", rc.Path, err)
	}
	r.rp = p.newReverseProxy(r, rt, pool)
	return r, nil
}

func (r *route) setUpstream(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("upstream must be an absolute http or https URL")
	}
	if u.User != nil || u.Fragment != "" {
		return errors.New("upstream must not carry user info or a fragment")
	}
	r.upstream = u
	return nil
}

func (r *route) validate() error {
	var errs []error
	if !isRoutePath(r.prefix) || !strings.HasSuffix(r.prefix, "/") {
		errs = append(errs, errors.New("path must be a clean path of unreserved characters starting and ending with /"))
	}
	if r.strip != "" && (!strings.HasPrefix(r.prefix, r.strip) || !isRoutePath(r.strip)) {
		errs = append(errs, errors.New("stripPrefix must be a clean prefix of the path"))
	}
	if r.auth != AuthRequired && r.auth != AuthOptional && r.auth != AuthNone {
		errs = append(errs, fmt.Errorf("auth %q is not required, optional or none", r.auth))
	}
	if r.timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if r.uploadIdle < 0 {
		errs = append(errs, errors.New("uploadIdleTimeout must not be negative"))
	}
	if r.maxBody < 0 {
		errs = append(errs, errors.New("maxRequestBody must not be negative"))
	}
	if r.token != nil && r.auth == AuthNone {
		errs = append(errs, errors.New("a token spec needs a credential: not with auth none"))
	}
	return errors.Join(errs...)
}

// isRoutePath reports whether p is a clean path whose escaped form is itself, so that a
// prefix compares the same against Path and RawPath.
func isRoutePath(p string) bool {
	return isCleanDecoded(p) && (&url.URL{Path: p}).EscapedPath() == p && !strings.Contains(p, "%")
}

// ServeHTTP proxies r to the route's upstream. The handler MUST only be obtained from
// Proxy.Match, which vetted the path; the caller MUST have run the CSRF check.
func (r *route) ServeHTTP(w http.ResponseWriter, in *http.Request) {
	if !r.allows(in.Method) {
		w.Header().Set("Allow", r.allow)
		problem.Write(w, problem.New(http.StatusMethodNotAllowed, problem.MethodNotAllowed, "method not allowed on this route", nil))
		return
	}
	if in.Header.Get("Upgrade") != "" && !csrf.IsWebsocketHandshake(in) {
		problem.Write(w, problem.New(http.StatusBadRequest, problem.BadRequest, "protocol upgrade not allowed", nil))
		return
	}
	if r.maxBody > 0 && in.ContentLength > r.maxBody {
		writeTooLarge(w) // before the token: a doomed request costs no refresh
		return
	}
	x := &exchange{route: r, in: in}
	if !r.authorize(w, x) {
		return
	}
	x.begin(in.Context())
	defer x.end()
	out := in.WithContext(x)
	r.limitBody(w, out)
	upload := r.watchUpload(w, out, x)
	if err := x.bufferBody(out); err != nil {
		r.p.writeBodyError(w, in, err)
		return
	}
	if x.body == nil {
		x.upload = upload // streamed: the header timeout waits for its end
	} else {
		upload.finish() // buffered whole: nothing more comes from the client
	}
	r.rp.ServeHTTP(w, out)
}

// limitBody bounds out's body to the route's maxRequestBody while it streams. A body of
// unknown length (chunked) that grows past it fails its next read with
// *http.MaxBytesError: the transport then abandons the upstream request mid-body (the
// upstream sees a broken connection or a reset stream, never a clean end) and
// handleError answers 413.
func (r *route) limitBody(w http.ResponseWriter, out *http.Request) {
	if r.maxBody > 0 && out.Body != nil && out.Body != http.NoBody {
		out.Body = http.MaxBytesReader(w, out.Body, r.maxBody)
	}
}

// writeTooLarge answers 413 and closes the connection: the rest of the body is never read.
func writeTooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	problem.Write(w, problem.New(http.StatusRequestEntityTooLarge, problem.BadRequest, "request body too large", nil))
}

// writeUploadStalled answers 408 and closes the connection: the client sent no byte of
// its body for the route's uploadIdleTimeout, and the rest of it is never read.
func writeUploadStalled(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	problem.Write(w, problem.New(http.StatusRequestTimeout, problem.BadRequest, "the request body stopped arriving", nil))
}

func (r *route) allows(method string) bool {
	if len(r.methods) == 0 {
		return true
	}
	for _, m := range r.methods {
		if m == method {
			return true
		}
	}
	return false
}

// authorize obtains the credential for x per the route's auth mode. It answers the client
// itself and returns false when the request must not go on.
func (r *route) authorize(w http.ResponseWriter, x *exchange) bool {
	if r.auth == AuthNone {
		return true
	}
	in := x.in
	if r.token != nil {
		// Only routes with a spec pay for the derived request: the default path is unchanged.
		in = in.WithContext(credential.WithTokenSpec(in.Context(), r.token))
	}
	x.src = r.p.creds(w, in)
	sess, err := x.src.Get(x.in.Context(), false)
	if err == nil && sess.Credential == nil {
		err = credential.ErrNoSession // never send an empty credential
	}
	switch {
	case err == nil:
		x.cred, x.identity, x.key = sess.Credential, sess.Identity, sess.Key
		x.replayable = r.retry
		return true
	case errors.Is(err, credential.ErrNoSession) && r.auth == AuthOptional:
		return true
	case errors.Is(err, credential.ErrNoSession):
		problem.Write(w, problem.New(http.StatusUnauthorized, problem.Unauthenticated, "no session", nil))
		return false
	}
	r.p.writeTokenError(w, x.in, r.name, err)
	return false
}

// writeTokenError renders an error of the credential source: a *problem.Error as it is, the client
// gone as 499, anything else as 502 without detail.
func (p *Proxy) writeTokenError(w http.ResponseWriter, in *http.Request, routeName string, err error) {
	var pe *problem.Error
	switch {
	case errors.As(err, &pe):
		p.log.LogAttrs(in.Context(), slog.LevelInfo, "proxy: token unavailable",
			slog.String("route", routeName), slog.String("type", string(pe.Type)), slog.Int("status", pe.Status),
			slog.String("err", err.Error())) // the handler's and store's texts hold no secret
		problem.Write(w, pe)
	case in.Context().Err() != nil:
		w.WriteHeader(statusClientClosedRequest)
	default:
		p.log.LogAttrs(in.Context(), slog.LevelError, "proxy: token function failed",
			slog.String("route", routeName), slog.String("error", err.Error()))
		problem.Write(w, problem.New(http.StatusBadGateway, problem.UpstreamUnavailable, "", nil))
	}
}

// writeBodyError answers a request whose body could not be read up front.
func (p *Proxy) writeBodyError(w http.ResponseWriter, in *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errUploadStalled):
		writeUploadStalled(w)
	case in.Context().Err() != nil || errors.Is(err, context.Canceled):
		w.WriteHeader(statusClientClosedRequest)
	case errors.As(err, &tooBig):
		writeTooLarge(w)
	default:
		problem.Write(w, problem.New(http.StatusBadRequest, problem.BadRequest, "the request body could not be read", nil))
	}
}
