package csrf

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/tokenward/bff/problem"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}

func TestCheck(t *testing.T) {
	const origin = "https://app.example.com"
	websocket := map[string][]string{"Connection": {"keep-alive, Upgrade"}, "Upgrade": {"websocket"}}
	tests := []struct {
		name    string
		method  string
		header  map[string][]string
		wantErr error // nil: accepted
	}{
		{name: "same-origin fetch with header", method: "POST",
			header: map[string][]string{"X-Csrf": {"1"}, "Sec-Fetch-Site": {"same-origin"}, "Origin": {origin}}},
		{name: "user-initiated (none) with header", method: "GET",
			header: map[string][]string{"X-Csrf": {"1"}, "Sec-Fetch-Site": {"none"}}},
		{name: "non-browser client: header, no fetch metadata, no origin", method: "DELETE",
			header: map[string][]string{"X-Csrf": {"1"}}},
		{name: "header missing", method: "POST",
			header:  map[string][]string{"Sec-Fetch-Site": {"same-origin"}, "Origin": {origin}},
			wantErr: ErrHeaderMissing},
		{name: "header missing on GET too", method: "GET",
			header: map[string][]string{}, wantErr: ErrHeaderMissing},
		{name: "header value not 1", method: "POST",
			header: map[string][]string{"X-Csrf": {"true"}}, wantErr: ErrHeaderMissing},
		{name: "header value empty", method: "POST",
			header: map[string][]string{"X-Csrf": {""}}, wantErr: ErrHeaderMissing},
		{name: "header repeated", method: "POST",
			header: map[string][]string{"X-Csrf": {"1", "1"}}, wantErr: ErrHeaderMissing},
		{name: "cross-site request forgery refused even with header", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Sec-Fetch-Site": {"cross-site"}},
			wantErr: ErrCrossSite},
		{name: "sibling subdomain (same-site) refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Sec-Fetch-Site": {"same-site"}},
			wantErr: ErrCrossSite},
		{name: "unknown fetch-site value refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Sec-Fetch-Site": {"bogus"}},
			wantErr: ErrCrossSite},
		{name: "foreign origin refused even with header", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Origin": {"https://evil.example"}},
			wantErr: ErrOriginMismatch},
		{name: "origin with other port refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Origin": {"https://app.example.com:8443"}},
			wantErr: ErrOriginMismatch},
		{name: "origin with other scheme refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Origin": {"http://app.example.com"}},
			wantErr: ErrOriginMismatch},
		{name: "origin null refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Origin": {"null"}},
			wantErr: ErrOriginMismatch},
		{name: "origin suffix trick refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Origin": {origin + ".evil.example"}},
			wantErr: ErrOriginMismatch},
		{name: "two origin headers refused", method: "POST",
			header:  map[string][]string{"X-Csrf": {"1"}, "Origin": {origin, "https://evil.example"}},
			wantErr: ErrOriginMismatch},
		{name: "websocket handshake from the public origin needs no header", method: "GET",
			header: with(websocket, "Origin", origin)},
		{name: "cross-site websocket hijacking refused", method: "GET",
			header: with(websocket, "Origin", "https://evil.example"), wantErr: ErrOriginMismatch},
		{name: "websocket handshake without origin refused", method: "GET",
			header: websocket, wantErr: ErrOriginRequired},
		{name: "websocket handshake with cross-site fetch metadata refused", method: "GET",
			header:  with(with(websocket, "Origin", origin), "Sec-Fetch-Site", "cross-site"),
			wantErr: ErrCrossSite},
		{name: "upgrade header alone does not exempt from the header rule", method: "GET",
			header:  map[string][]string{"Upgrade": {"websocket"}, "Origin": {origin}},
			wantErr: ErrHeaderMissing},
		{name: "POST posing as websocket does not exempt from the header rule", method: "POST",
			header: with(websocket, "Origin", origin), wantErr: ErrHeaderMissing},
	}
	c := New("", mustURL(t, origin+"/some/path"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "https://app.example.com/api/x", nil)
			r.Header = http.Header(tt.header)
			err := c.Check(r)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
			var p *problem.Error
			if !errors.As(err, &p) || p.Status != http.StatusForbidden || p.Type != problem.CSRF {
				t.Fatalf("Check = %#v, want a 403 csrf *problem.Error", err)
			}
		})
	}
}

// with returns a copy of h with key set to value.
func with(h map[string][]string, key, value string) map[string][]string {
	out := make(map[string][]string, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	out[key] = []string{value}
	return out
}

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		headerName string
		publicURL  string
		wantHeader string
		wantOrigin string
	}{
		{name: "defaults", publicURL: "https://app.example.com",
			wantHeader: "X-Csrf", wantOrigin: "https://app.example.com"},
		{name: "custom header is canonicalized", headerName: "x-requested-by", publicURL: "https://app.example.com",
			wantHeader: "X-Requested-By", wantOrigin: "https://app.example.com"},
		{name: "default https port dropped, case folded", publicURL: "HTTPS://App.Example.COM:443/x",
			wantHeader: "X-Csrf", wantOrigin: "https://app.example.com"},
		{name: "default http port dropped", publicURL: "http://localhost:80",
			wantHeader: "X-Csrf", wantOrigin: "http://localhost"},
		{name: "other port kept", publicURL: "http://localhost:8080/",
			wantHeader: "X-Csrf", wantOrigin: "http://localhost:8080"},
		{name: "ipv6 literal", publicURL: "http://[::1]:8080",
			wantHeader: "X-Csrf", wantOrigin: "http://[::1]:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.headerName, mustURL(t, tt.publicURL))
			if c.HeaderName() != tt.wantHeader || c.Origin() != tt.wantOrigin {
				t.Fatalf("New = (%q, %q), want (%q, %q)", c.HeaderName(), c.Origin(), tt.wantHeader, tt.wantOrigin)
			}
		})
	}
}

func TestCheckCustomHeaderName(t *testing.T) {
	c := New("X-Requested-By", mustURL(t, "http://localhost:8080"))
	tests := []struct {
		name    string
		header  map[string][]string
		wantErr error
	}{
		{name: "custom header accepted", header: map[string][]string{"X-Requested-By": {"1"}}},
		{name: "default header no longer accepted", header: map[string][]string{"X-Csrf": {"1"}}, wantErr: ErrHeaderMissing},
		{name: "origin with explicit non-default port matches", header: map[string][]string{
			"X-Requested-By": {"1"}, "Origin": {"http://localhost:8080"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/x", nil)
			r.Header = http.Header(tt.header)
			if err := c.Check(r); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Check = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewPanicsWithoutOrigin(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(nil origin) did not panic")
		}
	}()
	New("", nil)
}
