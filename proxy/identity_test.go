package proxy

import (
	"net/http"
	"testing"

	"github.com/tokenward/bff/credential"
)

var oauth2ProxyNames = IdentityHeaders{
	User: "X-Auth-Request-User", Email: "X-Auth-Request-Email", PreferredUsername: "X-Auth-Request-Preferred-Username",
}

func withIdentity(h IdentityHeaders) func(*Route) {
	return func(r *Route) { r.IdentityHeaders = h }
}

// spoofedIdentity is a client posing as someone else to an upstream that trusts
// identity headers, in every spelling an upstream might fold into the real name.
func spoofedIdentity() http.Header {
	h := withSession()
	h["X-Auth-Request-User"] = []string{"admin"}
	h["x-auth-request-email"] = []string{"admin@example.com"}
	h["X_Auth_Request_Preferred_Username"] = []string{"root"}
	return h
}

// TestIdentityHeadersCannotBeSpoofed_IdentitySpoofing: a route with identityHeaders
// sends the session's subject, email and preferred_username, and only those: the
// client's own headers of those names (any case, "_" for "-") are dropped first.
func TestIdentityHeadersCannotBeSpoofed_IdentitySpoofing(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/me/", up.URL, withIdentity(oauth2ProxyNames))})
	f.do(t, http.MethodGet, "/me/profile", spoofedIdentity(), nil)
	got := up.last(t)
	for name, want := range map[string]string{
		"X-Auth-Request-User": stubSubject, "X-Auth-Request-Email": stubEmail, "X-Auth-Request-Preferred-Username": stubUsername,
	} {
		if vs := got.Header.Values(name); len(vs) != 1 || vs[0] != want {
			t.Errorf("upstream saw %s %q, want only %q", name, vs, want)
		}
	}
	if vs := got.Header.Values("X_Auth_Request_Preferred_Username"); len(vs) != 0 {
		t.Errorf("upstream saw the client's underscore spelling %q", vs)
	}
}

// TestRouteWithoutIdentityHeadersSendsNone_IdentitySpoofing: a route without the option
// sends no identity, and drops a client's headers named like another route's identity
// headers (the two routes may share an upstream that trusts them).
func TestRouteWithoutIdentityHeadersSendsNone_IdentitySpoofing(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{
		cfgRoute("/me/", up.URL, withIdentity(oauth2ProxyNames)),
		cfgRoute("/api/", up.URL),
	})
	f.do(t, http.MethodGet, "/api/orders", spoofedIdentity(), nil)
	got := up.last(t)
	for _, name := range []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X_Auth_Request_Preferred_Username"} {
		if vs := got.Header.Values(name); len(vs) != 0 {
			t.Errorf("upstream of a route without identityHeaders saw %s %q", name, vs)
		}
	}
	if got.Header.Get("Authorization") != "Bearer t1" {
		t.Errorf("the bearer is missing: %q", got.Header.Get("Authorization"))
	}
}

// TestOptionalRouteWithoutSessionSendsNoIdentity_IdentitySpoofing: on an auth: optional
// route an anonymous client's identity headers are dropped and none are set.
func TestOptionalRouteWithoutSessionSendsNoIdentity_IdentitySpoofing(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/pub/", up.URL, withIdentity(oauth2ProxyNames), func(r *Route) { r.Auth = "optional" })})
	h := spoofedIdentity()
	h.Del(sessionHeader)
	if resp, _ := f.do(t, http.MethodGet, "/pub/x", h, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := up.last(t)
	for _, name := range []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X_Auth_Request_Preferred_Username", "Authorization"} {
		if vs := got.Header.Values(name); len(vs) != 0 {
			t.Errorf("anonymous request reached the upstream with %s %q", name, vs)
		}
	}
}

// TestIdentityHeadersSurviveTheRetry: after an upstream 401 and a forced refresh, the
// retried request still carries the identity (and the new bearer).
func TestIdentityHeadersSurviveTheRetry(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer t1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	f := newFixture(t, []Route{cfgRoute("/me/", up.URL, withIdentity(IdentityHeaders{User: "X-User"}))})
	if resp, _ := f.do(t, http.MethodGet, "/me/x", withSession(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := up.last(t)
	if got.Header.Get("Authorization") != "Bearer t2" || got.Header.Get("X-User") != stubSubject {
		t.Fatalf("retry carried Authorization %q, X-User %q", got.Header.Get("Authorization"), got.Header.Get("X-User"))
	}
}

// TestClaimThatIsNoHeaderValueIsLeftOut: a claim holding a line break (an IdP that lets
// users type one into their name) cannot split the upstream request's head or fail it.
func TestClaimThatIsNoHeaderValueIsLeftOut(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/me/", up.URL, withIdentity(oauth2ProxyNames))}, func(o *Options) {
		o.Credentials = sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{Credential: credential.NewBearer("t"),
				Identity: credential.Identity{Subject: "s1", PreferredUsername: "ada\r\nX-Admin: 1"}}, nil
		})
	})
	if resp, _ := f.do(t, http.MethodGet, "/me/x", withSession(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := up.last(t)
	if got.Header.Get("X-Auth-Request-User") != "s1" || got.Header.Get("X-Admin") != "" ||
		len(got.Header.Values("X-Auth-Request-Preferred-Username")) != 0 || len(got.Header.Values("X-Auth-Request-Email")) != 0 {
		t.Fatalf("upstream saw %v", got.Header)
	}
}

// TestIdentityHeaderCannotReplaceTheCredential: an identity header named like a header the
// BFF sets itself (config refuses such names; a proxy.Route built in code is not checked)
// cannot replace the credential or the forwarding headers: the BFF's own are set last.
func TestIdentityHeaderCannotReplaceTheCredential(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/me/", up.URL, withIdentity(IdentityHeaders{User: "Authorization", Email: "X-Forwarded-Host"}))})
	if resp, _ := f.do(t, http.MethodGet, "/me/x", withSession(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := up.last(t)
	if got.Header.Get("Authorization") != "Bearer t1" || got.Header.Get("X-Forwarded-Host") != hostOf(t, publicURL) {
		t.Fatalf("upstream saw Authorization %q, X-Forwarded-Host %q: an identity header replaced the BFF's own",
			got.Header.Get("Authorization"), got.Header.Get("X-Forwarded-Host"))
	}
}
