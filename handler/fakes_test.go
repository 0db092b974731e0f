package handler

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/csrf"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/metrics"
	"github.com/tokenward/bff/session"
)

// The handler's own tests run the handlers with a real session store (the embedded
// miniredis one) and fakes for the provider and the refresher, whose real versions the
// whole-flow tests (package e2e, and this package's handler_test files) drive.

// fakeProvider is a Provider whose answers the test sets.
type fakeProvider struct {
	ready   error
	verify  func(raw string) (*idp.LogoutToken, error)
	mu      sync.Mutex
	revoked []string
}

func (p *fakeProvider) Ready() error { return p.ready }
func (p *fakeProvider) AuthorizeURL(_ context.Context, ar idp.AuthRequest, _ url.Values) (string, error) {
	return "https://idp.example/authorize?state=" + url.QueryEscape(ar.State), nil
}
func (p *fakeProvider) PassedParams(params url.Values) url.Values { return url.Values{} }
func (p *fakeProvider) CheckIssuer(string) error                  { return nil }
func (p *fakeProvider) NewDPoPKey() (string, error)               { return "", nil }
func (p *fakeProvider) Exchange(context.Context, string, idp.AuthRequest) (*idp.Tokens, *idp.Identity, error) {
	return nil, nil, errors.New("fake provider: no code exchange")
}
func (p *fakeProvider) Revoke(_ context.Context, rt string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = append(p.revoked, rt)
	return nil
}
func (p *fakeProvider) EndSessionURL(string, string) (string, bool) {
	return "https://idp.example/logout", true
}
func (p *fakeProvider) VerifyLogoutToken(_ context.Context, raw string) (*idp.LogoutToken, error) {
	if p.verify == nil {
		return nil, idp.ErrInvalidToken
	}
	return p.verify(raw)
}

// refresherFunc is a Refresher made of a function.
type refresherFunc func(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error)

func (f refresherFunc) Fresh(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error) {
	return f(ctx, id, rec, force)
}

// asIs is the refresher of a token that never needs a refresh.
var asIs = refresherFunc(func(_ context.Context, _ string, rec *session.Record, _ bool) (*session.Record, error) {
	return rec, nil
})

// recorder is a Recorder that keeps what it is told and fails the test on a value
// outside its producer's list (which would be counted as "other").
type recorder struct {
	t      testing.TB
	mu     sync.Mutex
	counts map[string]int // "login:ok", "ended:logout" …
}

func newRecorder(t testing.TB) *recorder { return &recorder{t: t, counts: map[string]int{}} }

func (r *recorder) note(kind, v string, list []string, n int) {
	if list != nil && !slices.Contains(list, v) {
		r.t.Errorf("%s outcome %q reported but not in its list (outcomes.go): it would count as other", kind, v)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[kind+":"+v] += n
}

func (r *recorder) Login(o string)             { r.note("login", o, LoginOutcomes(), 1) }
func (r *recorder) SessionCreated()            { r.note("created", "", nil, 1) }
func (r *recorder) BackchannelLogout(o string) { r.note("backchannel", o, BackchannelOutcomes(), 1) }
func (r *recorder) SessionRejected(o string)   { r.note("rejected", o, RejectedReasons(), 1) }
func (r *recorder) SessionEnded(reason string, n int) {
	r.note("ended", reason, []string{metrics.EndedLogout, metrics.EndedBackchannel, metrics.EndedProviderRemoved}, n)
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

var _ Recorder = (*metrics.Metrics)(nil) // the real one fits

// unit is Handlers mounted on echo, over a real embedded store and the fakes.
type unit struct {
	h     *Handlers
	e     *echo.Echo
	store session.Store
	keys  *session.KeyRing
	idp   *fakeProvider
	rec   *recorder
	ended [][]string // OnEnd's calls
}

// trustedPeer is the ingress's address in unit tests (server.trustedProxies).
const trustedPeer = "192.0.2.10:4711"

func newUnit(t *testing.T, ref Refresher, edit func(*Config)) *unit {
	t.Helper()
	keys, err := session.ParseKeys([]string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="})
	if err != nil {
		t.Fatal(err)
	}
	st, err := session.NewEmbedded(context.Background(), session.Options{Keys: keys, IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	public, _ := url.Parse("https://app.example")
	cfg := Config{
		PublicURL: public, PostLogoutPath: "/", IdleTimeout: time.Hour, AbsoluteTimeout: 8 * time.Hour,
		CookieName: "__Host-bff", SameSite: "strict", LoginTimeout: 5 * time.Minute,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}, ForwardAuth: true,
		ForwardAuthUser: "X-Auth-Request-User",
	}
	if edit != nil {
		edit(&cfg)
	}
	u := &unit{store: st, keys: keys, idp: &fakeProvider{}, rec: newRecorder(t)}
	u.h, err = New(cfg, Deps{
		IdP: u.idp, Store: st, Keys: keys, Refresher: ref, CSRF: csrf.New("X-CSRF", public),
		Metrics: u.rec, OnEnd: func(hs []string) { u.ended = append(u.ended, hs) },
	})
	if err != nil {
		t.Fatal(err)
	}
	u.e = echo.New()
	u.h.Mount(u.e)
	return u
}

// session saves a live record of alice and returns its id and the request cookie.
func (u *unit) session(t *testing.T, edit func(*session.Record)) (id string, cookie *http.Cookie) {
	t.Helper()
	now := time.Now()
	rec := &session.Record{
		Subject: "alice", SID: "op-sid", LogoutHandle: session.NewLogoutHandle(),
		AccessToken: "at-" + session.NewLogoutHandle(), RefreshToken: "rt-" + session.NewLogoutHandle(),
		TokenType: "Bearer", AccessExpiry: now.Add(time.Hour), Created: now, AbsoluteExpiry: now.Add(time.Hour),
	}
	if edit != nil {
		edit(rec)
	}
	id, err := session.NewID()
	if err != nil {
		t.Fatal(err)
	}
	if err := u.store.Save(context.Background(), id, rec); err != nil {
		t.Fatal(err)
	}
	v, err := session.NewCookieCodec(u.keys, 8*time.Hour).Encode("__Host-bff", id)
	if err != nil {
		t.Fatal(err)
	}
	return id, &http.Cookie{Name: "__Host-bff", Value: v}
}

// serve sends r through the mounted handlers.
func (u *unit) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	u.e.ServeHTTP(w, r)
	return w
}
