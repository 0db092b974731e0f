package handler

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestUpstreamCannotSetTheLoginCookie: the proxy drops an upstream's Set-Cookie for any
// name OwnsCookie claims; the login cookie is one of them (an API that could set it could
// plant a pending login of its choosing), the old __Secure- names no longer exist.
func TestUpstreamCannotSetTheLoginCookie(t *testing.T) {
	owns := OwnsCookie("__Host-bff")
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"__Host-bff", true},
		{"__Host-bff-login", true},
		{"theme", false},
		{"__Host-bff-login2", false},
	} {
		if got := owns(tc.name); got != tc.want {
			t.Errorf("OwnsCookie(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLoginCookieParsing: only well-formed handles count, at most MaxPendingLogins (the
// newest), and a request with two login cookies (one of them planted) has none.
func TestLoginCookieParsing(t *testing.T) {
	h := &Handlers{cfg: Config{MaxPendingLogins: 2}}
	a, b, c := strings.Repeat("a", 43), strings.Repeat("B", 43), strings.Repeat("-", 42)+"_"
	tests := []struct {
		name   string
		cookie string
		want   []string
	}{
		{name: "no cookie", cookie: ""},
		{name: "one handle", cookie: loginCookie + "=" + a, want: []string{a}},
		{name: "newest kept past the cap", cookie: loginCookie + "=" + a + "." + b + "." + c, want: []string{b, c}},
		{name: "short handle ignored", cookie: loginCookie + "=" + a[:42] + "." + b, want: []string{b}},
		{name: "non-base64url handle ignored", cookie: loginCookie + "=" + a[:42] + "/." + b, want: []string{b}},
		{name: "empty value", cookie: loginCookie + "="},
		{name: "two login cookies mean none", cookie: loginCookie + "=" + a + "; " + loginCookie + "=" + b},
		{name: "oversized value", cookie: loginCookie + "=" + strings.Repeat(a+".", 100)},
		{name: "other cookies only", cookie: "__Secure-bff-login-0=" + a},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/bff/callback", nil)
			if tc.cookie != "" {
				r.Header.Set("Cookie", tc.cookie)
			}
			if got := h.readLoginHandles(r); !slices.Equal(got, tc.want) {
				t.Fatalf("handles = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWithoutHandle: the used handle is removed, the others stay in order.
func TestWithoutHandle(t *testing.T) {
	rest, ok := withoutHandle([]string{"h1", "h2", "h3"}, "h2")
	if !ok || !slices.Equal(rest, []string{"h1", "h3"}) {
		t.Fatalf("withoutHandle = %q, %v", rest, ok)
	}
	if _, ok := withoutHandle([]string{"h1"}, "h2"); ok {
		t.Fatal("withoutHandle found a handle that is not there")
	}
}
