package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tokenward/bff/clientip"
	"github.com/tokenward/bff/credential"
)

// Options configures New.
type Options struct {
	// Routes to serve. New rejects what would make the proxy unsafe (bad upstream URL,
	// prefix that is not a clean path, ...), every problem at once.
	Routes []Route
	// PublicURL is the origin browsers use: X-Forwarded-Host and X-Forwarded-Proto are
	// taken from it, never from the client (unless a trusted proxy sent them, see
	// TrustedProxies). Required.
	PublicURL *url.URL
	// TrustedProxies are the peers (server.trustedProxies) whose X-Forwarded-For chain,
	// X-Forwarded-Proto and X-Forwarded-Host are passed on to the upstream. From any
	// other peer the client's values are dropped and the upstream sees only the peer.
	TrustedProxies clientip.Trusted
	// Credentials gives each proxied request its credential source (the session's
	// credential and identity; see credential.Source for the errors it may return).
	// Required when any route's auth is not "none". Errors other than
	// credential.ErrNoSession SHOULD be *problem.Error values (session_expired 401,
	// idp_unavailable 503, store_unavailable 503): they are rendered as they are; anything
	// else becomes a 502 upstream_unavailable without detail. Errors are logged, so they
	// MUST NOT carry a token or a secret.
	Credentials credential.SourceFunc
	// OwnCookies reports whether name is one of the BFF's own cookies: an upstream
	// Set-Cookie with such a name is dropped. It MUST cover every cookie the BFF sets
	// (session and login cookies). Nil drops none but the nameless ones.
	OwnCookies func(name string) bool
	// Logger receives proxy errors (never tokens, headers or URL queries). Nil means
	// slog.Default().
	Logger *slog.Logger
	// Transport, when set, is the base transport for every upstream (tests, benchmarks).
	// Nil gives each upstream its own tuned *http.Transport (see newUpstreamTransport).
	Transport http.RoundTripper
	// WrapTransport, when set, wraps every upstream's base transport (tracing); each
	// attempt, the 401 retry included, goes through it.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// ObserveUpstream, when set, is told each attempt's time to response headers.
	ObserveUpstream func(route string, d time.Duration)
}

// Proxy serves the configured routes. It is safe for concurrent use.
type Proxy struct {
	routes     []*route // longest prefix first
	creds      credential.SourceFunc
	ownCookies func(name string) bool
	log        *slog.Logger
	fwdHost    string // X-Forwarded-Host: the public URL's host[:port]
	fwdProto   string // X-Forwarded-Proto: the public URL's scheme
	trusted    clientip.Trusted
	// identityNames are the identity header names of every route, lower case with "-"
	// (see headerNameEqual): a client's headers of these names are dropped on every route.
	identityNames []string
	streams       streamSet
	owned         []*http.Transport // built here; their idle connections close on CloseAll
	wrap          func(http.RoundTripper) http.RoundTripper
	observe       func(route string, d time.Duration)
}

// New builds the proxy: one httputil.ReverseProxy per route and one transport per upstream
// (scheme://host), shared by that upstream's routes. It returns every configuration
// problem at once, joined.
func New(opts Options) (*Proxy, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p := &Proxy{
		creds:      opts.Credentials,
		ownCookies: opts.OwnCookies,
		wrap:       opts.WrapTransport,
		observe:    opts.ObserveUpstream,
		log:        opts.Logger,
		fwdHost:    opts.PublicURL.Host,
		fwdProto:   strings.ToLower(opts.PublicURL.Scheme),
		trusted:    opts.TrustedProxies,
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if err := p.buildRoutes(opts); err != nil {
		return nil, err
	}
	return p, nil
}

func (o *Options) validate() error {
	var errs []error
	if o.PublicURL == nil || o.PublicURL.Host == "" ||
		(o.PublicURL.Scheme != "http" && o.PublicURL.Scheme != "https") {
		errs = append(errs, errors.New("proxy: PublicURL must be an absolute http(s) URL"))
	}
	if o.Credentials == nil {
		for _, r := range o.Routes {
			if r.Auth != AuthNone {
				errs = append(errs, fmt.Errorf("proxy: route %q needs a credential but Options.Credentials is nil", r.Path))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Proxy) buildRoutes(opts Options) error {
	var errs []error
	seen := make(map[string]bool, len(opts.Routes))
	transports := make(map[string]http.RoundTripper)
	pool := newBufferPool()
	for _, rc := range opts.Routes {
		if seen[rc.Path] {
			errs = append(errs, fmt.Errorf("proxy: route %q: duplicate path", rc.Path))
			continue
		}
		seen[rc.Path] = true
		rt, err := p.newRoute(rc, p.transportFor(opts.Transport, transports, rc.Upstream), pool)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.routes = append(p.routes, rt)
		p.addIdentityNames(rc.IdentityHeaders.names())
	}
	sort.SliceStable(p.routes, func(i, j int) bool { return len(p.routes[i].prefix) > len(p.routes[j].prefix) })
	return errors.Join(errs...)
}

func (p *Proxy) addIdentityNames(names []string) {
	for _, n := range names {
		n = strings.ReplaceAll(strings.ToLower(n), "_", "-")
		if !slices.Contains(p.identityNames, n) {
			p.identityNames = append(p.identityNames, n)
		}
	}
}

// transportFor returns the round tripper for upstream: the caller's base transport, or one
// tuned transport per scheme://host, wrapped for header timeouts and the 401 retry.
func (p *Proxy) transportFor(base http.RoundTripper, cache map[string]http.RoundTripper, upstream string) http.RoundTripper {
	key := upstreamKey(upstream)
	if rt, ok := cache[key]; ok {
		return rt
	}
	if base == nil {
		t := newUpstreamTransport()
		p.owned = append(p.owned, t)
		base = t
	}
	if p.wrap != nil {
		base = p.wrap(base)
	}
	rt := &exchangeTransport{base: base}
	cache[key] = rt
	return rt
}

func upstreamKey(upstream string) string {
	u, err := url.Parse(upstream)
	if err != nil {
		return upstream // newRoute reports the error
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// Match returns the handler of the route r's path belongs to, or false when no route
// claims it (the caller serves the SPA). For a path that is not clean and looks aimed at a
// route it returns a handler answering 400 bad_request; a path with an encoded slash (%2F)
// counts as unclean unless its route has passEncodedSlashes. Match MUST see r.URL as the
// server parsed it (nothing before it may clean, unescape or rewrite the path), so that
// what is checked is what is forwarded; the returned handler MUST get the same r (a
// WithContext copy is fine). It does no I/O and allocates nothing for a clean path.
func (p *Proxy) Match(r *http.Request) (http.Handler, bool) {
	escaped := r.URL.EscapedPath()
	clean, encodedSlash := checkRequestPath(r.URL, escaped)
	if clean {
		if rt := p.routeFor(escaped); rt != nil && (!encodedSlash || p.passesEncodedSlashes(rt, r.URL.Path)) {
			return rt, true
		}
		if !encodedSlash {
			return nil, false
		}
	}
	if p.aimsAtRoute(r.URL.Path, escaped) {
		return badPath{}, true
	}
	return nil, false
}

// routeFor is the route with the longest prefix p starts with, or nil.
func (p *Proxy) routeFor(path string) *route {
	for _, rt := range p.routes {
		if strings.HasPrefix(path, rt.prefix) {
			return rt
		}
	}
	return nil
}

// passesEncodedSlashes reports whether rt, matched on the escaped path, may receive a
// path with encoded slashes: it opted in (passEncodedSlashes), and the decoded path,
// where every %2F is a "/", belongs to rt too. So "/api/admin%2Fx" never reaches /api/'s
// upstream when /api/admin/ is another route, and "/api%2Fadmin" matches no route at all
// (no prefix holds a "%").
func (p *Proxy) passesEncodedSlashes(rt *route, decoded string) bool {
	return rt.passEncodedSlashes && p.routeFor(decoded) == rt
}

// CloseSession ends every live websocket and SSE stream carrying key's bearer (cleanly:
// an SSE event bff-session-ended, a websocket close 1008) and returns how many it cut. The caller calls it when the session ends (logout, back-channel
// logout, expiry). A stream whose response arrives after this call is not cut: the
// caller's credential source refuses the ended session for new requests.
func (p *Proxy) CloseSession(key string) int {
	if key == "" {
		return 0
	}
	return p.streams.closeSession(key)
}

// CloseAll ends every live stream, with a session or without (cleanly: an SSE event
// bff-shutdown, a websocket close 1001), refuses to track new ones (they end at once) and
// closes the idle upstream connections of the transports New built. Call it at shutdown,
// before or alongside http.Server.Shutdown, which waits neither for hijacked websocket
// connections nor, in time, for endless SSE responses; then WaitStreams.
func (p *Proxy) CloseAll() {
	p.streams.closeAll()
	for _, t := range p.owned {
		t.CloseIdleConnections()
	}
}

// WaitStreams returns when the handlers of the streams CloseAll cut have returned (their
// clean ends done: a websocket's close frames are written on hijacked connections,
// which http.Server.Shutdown does not wait for), or with ctx's error.
func (p *Proxy) WaitStreams(ctx context.Context) error { return p.streams.wait(ctx) }

// LiveStreams returns how many websocket and SSE streams are being tracked (a gauge for
// metrics; tests use it to prove streams are untracked when they end).
func (p *Proxy) LiveStreams() int { return p.streams.len() }

// StreamSessions returns the session keys that have live streams on this replica, so
// that the caller can check their sessions still exist and cut the streams of those that
// ended (expiry, or an end announced while this replica was not listening).
func (p *Proxy) StreamSessions() []string { return p.streams.keys() }

// RouteName is the configured name of a handler Match returned ("bad_path" for the
// refusal of an unclean path): a bounded label for logs and metrics.
func RouteName(h http.Handler) string {
	switch rt := h.(type) {
	case *route:
		return rt.name
	case badPath:
		return "bad_path"
	default:
		return "other"
	}
}
