package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/spa-demo/demoop"
)

// ExtraOP is a second in-process OpenID provider, with the same client registration
// (ClientID, ClientSecret) as the stack's own, for configurations with oidc.providers.
type ExtraOP struct {
	OP     *demoop.OP
	Server *httptest.Server
}

// StartTwoProviders starts a stack whose BFF has two providers: "a" (the stack's OP, the
// default) and "b" (the returned ExtraOP), each registered for the BFF's redirect URI.
func StartTwoProviders(t testing.TB, o Options) (*Env, *ExtraOP) {
	t.Helper()
	b := &ExtraOP{Server: httptest.NewUnstartedServer(nil)}
	prev := o.Configure
	o.Configure = func(c *config.Config) {
		public := c.Server.PublicURL
		op, err := demoop.New(demoop.Config{
			Issuer: "http://" + b.Server.Listener.Addr().String(),
			Clients: []demoop.Client{{
				ID: ClientID, Secret: ClientSecret,
				RedirectURIs:           []string{public + "/bff/callback"},
				PostLogoutRedirectURIs: []string{public + "/"},
				BackchannelLogoutURI:   public + "/bff/backchannel-logout?idp=b",
			}},
		})
		if err != nil {
			t.Fatalf("demoop b: %v", err)
		}
		b.OP = op
		b.Server.Config.Handler = op.Handler()
		b.Server.Start()
		t.Cleanup(b.Server.Close)
		c.OIDC.Providers = []config.Provider{{Name: "a", Issuer: c.OIDC.Issuer}, {Name: "b", Issuer: b.Server.URL}}
		if prev != nil {
			prev(c)
		}
	}
	return Start(t, o), b
}

// AuthorizeAt is Authorize with /bff/login?idp=name.
func (e *Env) AuthorizeAt(t testing.TB, c *http.Client, name, user string) *url.URL {
	t.Helper()
	resp, err := c.Get(e.URL("/bff/login?idp=" + url.QueryEscape(name)))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login at %s: status %d", name, resp.StatusCode)
	}
	cb, err := demoop.LoginHeadless(context.Background(), &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, resp.Header.Get("Location"), user, Password(user))
	if err != nil {
		t.Fatalf("OP login at %s: %v", name, err)
	}
	return cb
}

// LoginAt runs the whole login of user at provider name through c.
func (e *Env) LoginAt(t testing.TB, c *http.Client, name, user string) *http.Response {
	t.Helper()
	resp, err := c.Get(e.AuthorizeAt(t, c, name, user).String())
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	resp.Body.Close()
	return resp
}
