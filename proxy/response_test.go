package proxy

import (
	"net/http"
	"slices"
	"testing"
)

// TestUpstreamCannotOverwriteBFFCookies: an upstream (compromised, or just careless) must
// not be able to set, replace or delete the BFF's session and login cookies, e.g. to fix
// a session; its other cookies pass.
func TestUpstreamCannotOverwriteBFFCookies(t *testing.T) {
	tests := []struct {
		name      string
		setCookie []string
		want      []string
	}{
		{name: "session cookie dropped, others kept",
			setCookie: []string{sessionCookie + "=attacker-session; Path=/; Secure", "theme=dark; Path=/"},
			want:      []string{"theme=dark; Path=/"}},
		{name: "session cookie deletion dropped",
			setCookie: []string{sessionCookie + "=; Max-Age=0"}},
		{name: "login cookie dropped",
			setCookie: []string{sessionCookie + "-login-abc=x; Path=/bff/callback"}},
		{name: "nameless cookie (prefix bypass) dropped",
			setCookie: []string{"=" + sessionCookie + "=attacker", sessionCookie}},
		{name: "spaces around the name do not hide it",
			setCookie: []string{" " + sessionCookie + " =x", "lang=en"},
			want:      []string{"lang=en"}},
		{name: "no cookies, nothing to do"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Set-Cookie"] = tt.setCookie
			})
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL)})
			resp, _ := f.do(t, http.MethodGet, "/api/x", withSession(), nil)
			if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, tt.want) {
				t.Fatalf("client got Set-Cookie %q, want %q", got, tt.want)
			}
		})
	}
}
