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
		{name: "raw space", in: "/a b"},
		{name: "raw space in query", in: "/a?q=a b"},
		{name: "raw backslash in query", in: "/a?next=\\evil"},
		{name: "raw non ASCII in query", in: "/a?q=café"},
		{name: "raw control char in fragment", in: "/a#x\x7f"},
		{name: "raw quote", in: "/a?q=\"x\""},
		{name: "bad escape in query", in: "/a?q=%zz"},
		{name: "truncated escape at the end", in: "/a?q=%4"},
		{name: "deep link with URL in query", in: "/search?next=https://example.com/x", want: "/search?next=https://example.com/x", ok: true},
		{name: "deep link with encoded URL in query", in: "/search?next=https%3A%2F%2Fexample.com%2Fx%3Fa%3D1", want: "/search?next=https%3A%2F%2Fexample.com%2Fx%3Fa%3D1", ok: true},
		{name: "deep link with scheme-relative URL in query", in: "/a?next=//evil.example", want: "/a?next=//evil.example", ok: true},
		{name: "encoded UTF-8 path", in: "/caf%C3%A9", want: "/caf%C3%A9", ok: true},
		{name: "encoded CJK path", in: "/%E4%B8%AD", want: "/%E4%B8%AD", ok: true},
		{name: "fragment with slashes", in: "/x#/route/a//b", want: "/x#/route/a//b", ok: true},
		{name: "hash router", in: "/#/orders/42?tab=2", want: "/#/orders/42?tab=2", ok: true},
		{name: "bracket query", in: "/items?filter[status]=open&x=a%20b", want: "/items?filter[status]=open&x=a%20b", ok: true},
		{name: "encoded control char in query", in: "/a?q=%0d%0a", want: "/a?q=%0d%0a", ok: true},
		{name: "encoded bff in query", in: "/a?next=/bff/logout", want: "/a?next=/bff/logout", ok: true},
		{name: "trailing slash", in: "/app/", want: "/app/", ok: true},
		{name: "encoded slash inside a segment", in: "/files/a%2Fb", want: "/files/a%2Fb", ok: true},
		{name: "invalid UTF-8 after decoding", in: "/%FF"},
		{name: "overlong UTF-8 after decoding", in: "/%C0%AF"},
		{name: "C1 control after decoding", in: "/%C2%85"},
		{name: "DEL after decoding", in: "/a%7F"},
		{name: "raw DEL", in: "/a\x7f"},
		{name: "dot-dot segment", in: "/a/../b"},
		{name: "encoded dot-dot segment", in: "/a/%2e%2e/b"},
		{name: "dot segment making a scheme-relative path", in: "/.//evil.example"},
		{name: "encoded dot segment", in: "/%2e/%2fevil.example"},
		{name: "empty segment inside", in: "/a//b"},
		{name: "encoded double slash inside", in: "/a/%2F%2Fb"},
		{name: "encoded backslash after slash", in: "/%5C%5Cevil.example"},
		{name: "encoded backslash inside", in: "/a%5Cb"},
		{name: "into bff through encoded dots", in: "/x/%2e%2e/bff/logout"},
		{name: "into bff by encoded slash", in: "/bff%2Flogout"},
		{name: "into bff with query", in: "/bff/?x=1"},
		{name: "into bff by case with fragment", in: "/BfF#x"},
		{name: "scheme-relative with query", in: "//evil.example?x=/a"},
		{name: "fragment only", in: "#x"},
		{name: "query only", in: "?x=1"},
		{name: "data URL", in: "data:text/html,x"},
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

// FuzzCheckReturnTo checks the property that matters: an accepted value, parsed by net/url
// and resolved against the BFF's origin the way a browser resolves a Location header,
// stays on that origin and never lands under /bff/; so does its path decoded once more
// (what an intermediary that decodes again would request). It is seeded with the deep
// links real apps build and with the open-redirect attacks.
func FuzzCheckReturnTo(f *testing.F) {
	for _, s := range []string{
		// accepted deep links
		"/", "/app", "/a?b=//c", "/a#//b", "/search?next=https://example.com/x",
		"/search?next=https%3A%2F%2Fexample.com%2Fx", "/caf%C3%A9", "/%E4%B8%AD", "/x#section",
		"/#/orders/42?tab=2", "/items?filter[status]=open",
		// attacks
		"//evil.example", "/\\evil", "/%2F%2Fevil", "https://evil", "/%5c%5cevil", "/%5Cevil",
		"/app/../bff/x", "/%2e%2e/bff", "/.//evil", "/%2e/%2fevil", "javascript:alert(1)",
		"/bff/logout", "/BFF/", "/x/../bff/", "/a\r\nLocation: https://evil", "/%0d%0aX:y",
		"/\tevil", "\\evil", "/%FF", "/%C2%85", "http:/evil", "/a?x#y#z",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CheckReturnTo(in)
		if err != nil {
			return
		}
		if in != "" && got != in {
			t.Fatalf("accepted %q but returned %q: the Location must be the value as given", in, got)
		}
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q does not parse: %v", in, err)
		}
		u := base.ResolveReference(ref)
		if u.Scheme != "https" || u.Host != "app.example" || u.User != nil {
			t.Fatalf("accepted %q leaves the origin: %s", in, u)
		}
		// The path as the browser requests it, and once more decoded (an intermediary
		// that decodes again), is a single-"/" path outside /bff/.
		for _, p := range []string{u.Path, u.EscapedPath(), unescapePath(got)} {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") || pointsIntoBFF(p) {
				t.Fatalf("accepted %q: path %q is scheme-relative, has a backslash or points into /bff/", in, p)
			}
		}
	})
}

// unescapePath returns the path part of v (before "?" or "#") percent-decoded once.
func unescapePath(v string) string {
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		v = v[:i]
	}
	p, err := url.PathUnescape(v)
	if err != nil {
		return v
	}
	return p
}
