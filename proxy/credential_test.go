package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/tokenward/bff/credential"
)

// proofCredential stands for a second kind of credential (DPoP, RFC 9449): it sets its own
// scheme and a proof header bound to the outbound request's method and URL. The proxy knows
// nothing of it; the test proves a new kind needs no change there.
type proofCredential struct{ token string }

func (c proofCredential) Apply(out *http.Request) error {
	if c.token == "" {
		return errors.New("no token")
	}
	out.Header.Set("Authorization", "DPoP "+c.token)
	out.Header.Set("DPoP", out.Method+" "+out.URL.String())
	return nil
}

// proofSource answers proof-t1, then proof-t2 after a forced refresh, remembering its
// state itself (no context value), as the handler's source does.
type proofSource struct{ forced bool }

func (s *proofSource) Get(_ context.Context, force bool) (credential.Session, error) {
	if force {
		s.forced = true
	}
	tok := "t1"
	if s.forced {
		tok = "t2"
	}
	return credential.Session{Credential: proofCredential{tok}, Identity: credential.Identity{Subject: "s1"}}, nil
}

// TestACredentialKindSetsItsOwnHeaders: the upstream sees exactly what the credential
// set, bound to the request as sent (upstream URL, after stripPrefix), on the first
// attempt and on the retry after a 401.
func TestACredentialKindSetsItsOwnHeaders(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "DPoP t1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	})
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, func(r *Route) { r.StripPrefix = "/api" })},
		func(o *Options) {
			o.Credentials = func(http.ResponseWriter, *http.Request) credential.Source { return &proofSource{} }
		})
	resp, body := f.do(t, http.MethodPost, "/api/orders?x=1", withSession(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	all := up.all()
	if len(all) != 2 {
		t.Fatalf("upstream saw %d attempts, want 2 (the 401, then the retry)", len(all))
	}
	for i, want := range []string{"DPoP t1", "DPoP t2"} {
		h := all[i].Header
		if h.Get("Authorization") != want || h.Get("DPoP") != "POST "+up.URL+"/orders?x=1" {
			t.Errorf("attempt %d: Authorization %q, DPoP %q; want %q bound to POST %s/orders?x=1",
				i+1, h.Get("Authorization"), h.Get("DPoP"), want, up.URL)
		}
	}
}

// TestCredentialThatCannotApplyFailsTheRequest: a credential whose Apply fails (a proof
// that cannot be signed) never lets the request go upstream without it.
func TestCredentialThatCannotApplyFailsTheRequest(t *testing.T) {
	up := newUpstream(t, nil)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL)}, func(o *Options) {
		o.Credentials = sourceOf(func(*http.Request, bool) (credential.Session, error) {
			return credential.Session{Credential: proofCredential{}}, nil
		})
	})
	resp, _ := f.do(t, http.MethodGet, "/api/x", withSession(), nil)
	if resp.StatusCode != http.StatusBadGateway || up.hits.Load() != 0 {
		t.Fatalf("status %d, upstream hits %d; want 502 and none", resp.StatusCode, up.hits.Load())
	}
}
