package demoop

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestAuthorizationResponseCarriesIss_MixUpAttack: RFC 9207 iss on every authorization
// response to the client, in the part of the URL the response uses, and never on the
// OP's own redirects.
func TestAuthorizationResponseCarriesIss_MixUpAttack(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		params    func(*url.URL) url.Values
		wantParam string // "code" or "error"
	}{
		{name: "query", mode: "", params: func(u *url.URL) url.Values { return u.Query() }, wantParam: "code"},
		{name: "fragment", mode: "fragment", wantParam: "code", params: func(u *url.URL) url.Values {
			v, _ := url.ParseQuery(u.EscapedFragment())
			return v
		}},
		{name: "form_post refused, error carries iss", mode: "form_post", wantParam: "error",
			params: func(u *url.URL) url.Values { return u.Query() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			browser := e.browser(t)
			var opts []oauth2.AuthCodeOption
			if tt.mode != "" {
				opts = append(opts, oauth2.SetAuthURLParam("response_mode", tt.mode))
			}
			a := newAttempt(e.bffConfig(), opts...)
			if tt.wantParam == "code" {
				resp := e.get(t, browser, a.url)
				if loc := resp.Header.Get("Location"); strings.Contains(loc, "iss=") {
					t.Errorf("redirect to the login page carries iss: %s", loc)
				}
			}
			cb, err := LoginHeadless(t.Context(), browser, a.url, "alice", "wonderland")
			if err != nil {
				t.Fatal(err)
			}
			got := tt.params(cb)
			if got.Get(tt.wantParam) == "" || got.Get("state") != a.state {
				t.Fatalf("response lacks %s/state: %s", tt.wantParam, cb.Redacted())
			}
			if iss := got["iss"]; len(iss) != 1 || iss[0] != e.issuer {
				t.Errorf("iss = %v, want exactly [%s]", iss, e.issuer)
			}
		})
	}
}
