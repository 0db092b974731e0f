package handler

import (
	"net/url"
	"strings"
	"testing"
)

func TestCheckReturnTo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{name: "empty means root", in: "", want: "/", ok: true},
		{name: "plain path", in: "/app", want: "/app", ok: true},
		{name: "path with query", in: "/app?tab=2&x=y", want: "/app?tab=2&x=y", ok: true},
		{name: "path with fragment", in: "/app#section", want: "/app#section", ok: true},
		{name: "encoded space kept", in: "/a%20b", want: "/a%20b", ok: true},
		{name: "absolute https URL", in: "https://evil.example"},
		{name: "scheme-relative", in: "//evil.example"},
		{name: "backslash after slash", in: "/\\evil.example"},
		{name: "encoded double slash", in: "/%2F%2Fevil.example"},
		{name: "encoded double slash lower case", in: "/%2f%2fevil.example"},
		{name: "encoded backslash", in: "/%5Cevil.example"},
		{name: "javascript URL", in: "javascript:alert(1)"},
		{name: "into bff logout", in: "/bff/logout"},
		{name: "into bff root", in: "/bff"},
		{name: "into bff by case", in: "/BFF/login"},
		{name: "into bff by dot segments", in: "/app/../bff/logout"},
		{name: "into bff encoded", in: "/%62ff/logout"},
		{name: "control char newline", in: "/app\nSet-Cookie:x"},
		{name: "control char tab", in: "/a\tb"},
		{name: "encoded newline", in: "/app%0d%0aLocation:x"},
		{name: "NUL", in: "/a\x00"},
		{name: "non ASCII", in: "/café"},
		{name: "space is printable", in: "/a b", want: "/a b", ok: true},
		{name: "relative without slash", in: "app"},
		{name: "bad escape", in: "/a%zz"},
		{name: "too long", in: "/" + strings.Repeat("a", maxReturnTo)},
		{name: "triple slash", in: "///evil.example"},
		{name: "double-encoded backslash is only decoded once", in: "/%255Cevil", want: "/%255Cevil", ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckReturnTo(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckReturnTo(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && got != tc.want {
				t.Fatalf("CheckReturnTo(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzCheckReturnTo checks the property that matters: an accepted value, resolved against
// the BFF's origin the way a browser resolves a Location header, stays on that origin and
// never lands under /bff/.
func FuzzCheckReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/app", "//evil.example", "/\\evil", "/%2F%2Fevil", "https://evil",
		"/%5c%5cevil", "/app/../bff/x", "/%2e%2e/bff", "javascript:alert(1)", "/a?b=//c", "/a#//b"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example.com/")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CheckReturnTo(in)
		if err != nil {
			return
		}
		for _, v := range []string{got, mustUnescape(got)} {
			u, err := base.Parse(v)
			if err != nil {
				t.Fatalf("accepted %q does not parse: %v", in, err)
			}
			if u.Scheme != "https" || u.Host != "app.example.com" {
				t.Fatalf("accepted %q leaves the origin: %s", in, u)
			}
			if pointsIntoBFF(u.Path) {
				t.Fatalf("accepted %q points into /bff/: %s", in, u.Path)
			}
		}
	})
}

func mustUnescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}
