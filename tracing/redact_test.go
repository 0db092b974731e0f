package tracing

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "query", in: "http://up:9000/orders?access_token=x&code=y", want: "http://up:9000/orders"},
		{name: "fragment", in: "https://up/a#frag", want: "https://up/a"},
		{name: "userinfo", in: "https://user:pw@up/a", want: "https://up/a"},
		{name: "userinfo with @ in password", in: "https://u:p@ss@up/a?x", want: "https://up/a"},
		{name: "no path", in: "http://up?x=1", want: "http://up"},
		{name: "@ in path is kept", in: "http://up/users/@me", want: "http://up/users/@me"},
		{name: "target", in: "/bff/callback?code=abc&state=def", want: "/bff/callback"},
		{name: "clean", in: "http://up/a", want: "http://up/a"},
	}
	for _, tc := range tests {
		if got := redactURL(tc.in); got != tc.want {
			t.Errorf("%s: redactURL(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestStripQueries(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "url error", in: `Get "http://up/x?code=abc": dial tcp 127.0.0.1:1: connect: connection refused`,
			want: `Get "http://up/x": dial tcp 127.0.0.1:1: connect: connection refused`},
		{name: "two urls", in: "a http://x/?t=1 b http://y/?t=2", want: "a http://x/ b http://y/"},
		{name: "query at end", in: "http://x/p?t=1", want: "http://x/p"},
		{name: "nothing", in: "connection reset", want: "connection reset"},
	}
	for _, tc := range tests {
		if got := stripQueries(tc.in); got != tc.want {
			t.Errorf("%s: stripQueries(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestRedactAttributesDropsHeadersAndQueries(t *testing.T) {
	in := []attribute.KeyValue{
		attribute.String("url.full", "http://up/a?token=SECRET"),
		attribute.String("url.path", "/a"),
		attribute.String("url.query", "token=SECRET"),
		attribute.String("user_agent.original", "Mozilla SECRET"),
		attribute.String("client.address", "198.51.100.1"),
		attribute.StringSlice("http.request.header.authorization", []string{"Bearer SECRET"}),
		attribute.StringSlice("http.response.header.set-cookie", []string{"__Host-bff=SECRET"}),
		attribute.String("exception.message", `Get "http://up/a?token=SECRET": EOF`),
		attribute.Int("http.response.status_code", 502),
	}
	orig := in[0]
	got := redactAttributes(in)
	want := map[attribute.Key]string{
		"url.full":                  "http://up/a",
		"url.path":                  "/a",
		"exception.message":         `Get "http://up/a": EOF`,
		"http.response.status_code": "502",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d attributes %v, want %d", len(got), got, len(want))
	}
	for _, kv := range got {
		if w, ok := want[kv.Key]; !ok || kv.Value.String() != w {
			t.Errorf("%s = %q, want %q (present: %v)", kv.Key, kv.Value.String(), w, ok)
		}
	}
	if in[0] != orig {
		t.Fatal("the input slice was modified")
	}
}
