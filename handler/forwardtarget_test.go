package handler

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenward/bff/problem"
)

// TestForwardedURL: the forwarded request a DPoP proof is bound to takes the first
// element of a proxy chain's list, and a method that is no token, a scheme but http or
// https, or a host that is no host[:port] (userinfo, path, query, fragment, space, a port
// out of range) is a 400 naming the header, never a proof for a URL the ingress did not
// name. Methods keep their case.
func TestForwardedURL(t *testing.T) {
	tests := []struct {
		name, method, proto, host, uri string
		wantMethod, wantURL, badHeader string
	}{
		{"plain", "POST", "https", "app.example", "/orders/7?draft=1", "POST", "https://app.example/orders/7?draft=1", ""},
		{"port", "GET", "http", "app.example:8443", "/x", "GET", "http://app.example:8443/x", ""},
		{"ipv6", "GET", "https", "[2001:db8::1]:443", "/x", "GET", "https://[2001:db8::1]:443/x", ""},
		{"lists take the first", "GET, POST", " https , http", "app.example, evil.example", "/a,b", "GET", "https://app.example/a,b", ""},
		{"method case kept", "get", "https", "app.example", "/x", "get", "https://app.example/x", ""},
		{"method not a token", "GE T", "https", "app.example", "/x", "", "", "X-Forwarded-Method"},
		{"method with slash", "GET/1", "https", "app.example", "/x", "", "", "X-Forwarded-Method"},
		{"empty method", ",GET", "https", "app.example", "/x", "", "", "X-Forwarded-Method"},
		{"proto ftp", "GET", "ftp", "app.example", "/x", "", "", "X-Forwarded-Proto"},
		{"proto upper", "GET", "HTTPS", "app.example", "/x", "", "", "X-Forwarded-Proto"},
		{"host with path", "GET", "https", "app.example/evil", "/x", "", "", "X-Forwarded-Host"},
		{"host with query", "GET", "https", "app.example?x=1", "/x", "", "", "X-Forwarded-Host"},
		{"host with fragment", "GET", "https", "app.example#f", "/x", "", "", "X-Forwarded-Host"},
		{"host with userinfo", "GET", "https", "user@app.example", "/x", "", "", "X-Forwarded-Host"},
		{"host with space", "GET", "https", "app .example", "/x", "", "", "X-Forwarded-Host"},
		{"port zero", "GET", "https", "app.example:0", "/x", "", "", "X-Forwarded-Host"},
		{"port too big", "GET", "https", "app.example:65536", "/x", "", "", "X-Forwarded-Host"},
		{"port empty", "GET", "https", "app.example:", "/x", "", "", "X-Forwarded-Host"},
		{"port signed", "GET", "https", "app.example:+443", "/x", "", "", "X-Forwarded-Host"},
		{"port only", "GET", "https", ":443", "/x", "", "", "X-Forwarded-Host"},
		{"ipv6 unbracketed", "GET", "https", "2001:db8::1", "/x", "", "", "X-Forwarded-Host"},
		{"ipv6 zone", "GET", "https", "[fe80::1%25eth0]", "/x", "", "", "X-Forwarded-Host"},
		{"ipv6 junk after", "GET", "https", "[2001:db8::1]x", "/x", "", "", "X-Forwarded-Host"},
		{"empty first host", "GET", "https", ", app.example", "/x", "", "", "X-Forwarded-Host"},
		{"uri with authority", "GET", "https", "app.example", "//evil.example/x", "", "", "X-Forwarded-Uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, u, err := forwardedURL(tt.method, tt.proto, tt.host, tt.uri)
			if tt.badHeader == "" {
				if err != nil || method != tt.wantMethod || u.String() != tt.wantURL {
					t.Fatalf("got %q %v %v, want %q %s", method, u, err, tt.wantMethod, tt.wantURL)
				}
				return
			}
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Status != http.StatusBadRequest || !strings.Contains(pe.Detail, tt.badHeader) {
				t.Fatalf("got %q %v %v, want a 400 naming %s", method, u, err, tt.badHeader)
			}
		})
	}
}
