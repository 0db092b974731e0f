package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/dpop"
)

// nonceUpstream demands the DPoP nonce "n1": a request whose proof lacks it gets the RFC
// 9449 §9 challenge, any other 200.
func nonceUpstream(t *testing.T) *upstream {
	t.Helper()
	var up *upstream
	verifier := dpop.NewVerifier(nil, 0)
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		self := mustParse(t, up.URL+r.URL.EscapedPath())
		_, at, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		_, err := verifier.Verify(r.Header.Get("DPoP"), dpop.Check{Method: r.Method, URL: self, AccessToken: at, Nonce: "n1"})
		switch {
		case errors.Is(err, dpop.ErrUseNonce):
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.Header().Set("DPoP-Nonce", "n1")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "upstream-401")
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			io.WriteString(w, "ok")
		}
	})
	return up
}

// TestUpstreamNonceChallengeIsAnsweredOnceWithoutRefresh: a DPoP credential's request
// refused for want of the upstream's nonce is re-sent once, body and all, with a new
// proof carrying the nonce and no forced refresh; the next request carries it at once.
// A request that cannot be replayed (a body over 64 KiB) gets the upstream's 401.
func TestUpstreamNonceChallengeIsAnsweredOnceWithoutRefresh(t *testing.T) {
	key, err := dpop.NewKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	nonces := &dpop.Nonces{}
	var forced atomic.Int32
	creds := sourceOf(func(_ *http.Request, force bool) (credential.Session, error) {
		if force {
			forced.Add(1)
		}
		return credential.Session{Credential: credential.NewDPoP("t1", key, nonces)}, nil
	})
	up := nonceUpstream(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)}, func(o *Options) { o.Credentials = creds })

	resp, body := f.do(t, http.MethodPost, "/api/orders", withSession(), strings.NewReader(`{"n":1}`))
	if resp.StatusCode != http.StatusOK || up.hits.Load() != 2 || forced.Load() != 0 {
		t.Fatalf("status %d %q, hits %d, forced refreshes %d; want 200 after one re-send, no refresh",
			resp.StatusCode, body, up.hits.Load(), forced.Load())
	}
	reqs := up.all()
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) || reqs[0].Header.Get("DPoP") == reqs[1].Header.Get("DPoP") {
		t.Fatal("the re-send must carry the same body and a new proof")
	}
	if resp, _ := f.do(t, http.MethodGet, "/api/orders", withSession(), nil); resp.StatusCode != http.StatusOK || up.hits.Load() != 3 {
		t.Fatalf("next request: %d after %d hits; want the remembered nonce at once", resp.StatusCode, up.hits.Load())
	}

	fresh := newFixture(t, []Route{cfgRoute("/api/", nonceUpstream(t).URL)}, func(o *Options) {
		o.Credentials = sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{Credential: credential.NewDPoP("t1", key, &dpop.Nonces{})}, nil
		})
	})
	resp, body = fresh.do(t, http.MethodPut, "/api/big", withSession(), bytes.NewReader(make([]byte, maxReplayBody+1)))
	if resp.StatusCode != http.StatusUnauthorized || string(body) != "upstream-401" {
		t.Fatalf("unreplayable request: %d %q, want the upstream's 401", resp.StatusCode, body)
	}
}

// TestUpstreamNonceIsLearntWithoutReplay: a request that cannot be re-sent (retryOn401
// off) gets the upstream's use_dpop_nonce 401, but its nonce is remembered, so the next
// request carries it at once; a nonce the upstream hands out on a 200 (RFC 9449 §8.2)
// replaces the remembered one.
func TestUpstreamNonceIsLearntWithoutReplay(t *testing.T) {
	key, err := dpop.NewKey(dpop.ES256)
	if err != nil {
		t.Fatal(err)
	}
	nonces := &dpop.Nonces{}
	up := nonceUpstream(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) { r.RetryOn401 = false })}, func(o *Options) {
		o.Credentials = sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{Credential: credential.NewDPoP("t1", key, nonces)}, nil
		})
	})
	origin := dpop.Origin(mustParse(t, up.URL))

	if resp, _ := f.do(t, http.MethodGet, "/api/x", withSession(), nil); resp.StatusCode != http.StatusUnauthorized || up.hits.Load() != 1 {
		t.Fatalf("first request: %d after %d hits; want the upstream's 401 and no re-send", resp.StatusCode, up.hits.Load())
	}
	if got := nonces.Get(origin); got != "n1" {
		t.Fatalf("remembered nonce %q after the challenge, want n1", got)
	}
	if resp, _ := f.do(t, http.MethodGet, "/api/x", withSession(), nil); resp.StatusCode != http.StatusOK || up.hits.Load() != 2 {
		t.Fatalf("second request: %d after %d hits; want 200 at once with the nonce", resp.StatusCode, up.hits.Load())
	}

	rotating := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("DPoP-Nonce", "n2")
		io.WriteString(w, "ok")
	})
	g := newFixture(t, []Route{cfgRoute("/api/", rotating.URL)}, func(o *Options) {
		o.Credentials = sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{Credential: credential.NewDPoP("t1", key, nonces)}, nil
		})
	})
	rotatingOrigin := dpop.Origin(mustParse(t, rotating.URL))
	nonces.Remember(rotatingOrigin, http.Header{"Dpop-Nonce": {"n1"}})
	if resp, _ := g.do(t, http.MethodGet, "/api/x", withSession(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := nonces.Get(rotatingOrigin); got != "n2" {
		t.Fatalf("remembered nonce %q after a 200 with DPoP-Nonce n2, want n2", got)
	}
}
