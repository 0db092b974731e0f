package handler_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/session"
)

// TestBadCookiesMeanNoSession: tampered, truncated, oversized or foreign cookies are
// treated as no session: 401 problem+json, never a 500.
func TestBadCookiesMeanNoSession(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	good := testenv.FindCookie(e.Login(t, e.NewClient(t), "alice", "/"), "__Host-bff").Value
	flip := []byte(good)
	flip[len(flip)/2] ^= 0x01
	tests := []struct {
		name  string
		value string
	}{
		{name: "tampered", value: string(flip)},
		{name: "truncated", value: good[:len(good)-5]},
		{name: "oversized", value: strings.Repeat("A", 5000)},
		{name: "empty", value: ""},
		{name: "garbage", value: "%%%not-base64%%%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.URL("/bff/user"), nil)
			req.Header.Set("X-CSRF", "1")
			req.Header.Set("Cookie", "__Host-bff="+tc.value)
			resp, err := e.NewClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" ||
				!strings.Contains(body, `"unauthenticated"`) {
				t.Fatalf("got %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

// TestStoreUnreachable: a dead Redis is a prompt 503 store_unavailable, not a hang.
func TestStoreUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + l.Addr().String() + "/0"
	l.Close()
	e := testenv.Start(t, testenv.Options{Configure: func(c *config.Config) {
		c.Session.Store, c.Session.RedisURL = "redis", dead
	}, SkipReady: true})
	keys, err := session.ParseKeys(e.Config.Session.Keys)
	if err != nil {
		t.Fatal(err)
	}
	value, err := session.NewCookieCodec(keys, time.Hour).Encode("__Host-bff", "some-session-id")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("/bff/user"), nil)
	req.Header.Set("X-CSRF", "1")
	req.AddCookie(&http.Cookie{Name: "__Host-bff", Value: value})
	start := time.Now()
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := testenv.ReadAll(t, resp)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %v, want < 2s", took)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"store_unavailable"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if e.BFF.Ready(ctx) == nil {
		t.Fatal("Ready() with a dead store")
	}
}

// TestCSRFAndSmuggling: JSON /bff/* calls need the CSRF header and a same-origin fetch;
// h2c upgrades are refused everywhere.
func TestCSRFAndSmuggling(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.Login(t, nil, "alice", "/")
	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		typ     string
	}{
		{name: "user without header", method: "GET", path: "/bff/user", status: 403, typ: "csrf"},
		{name: "logout without header", method: "POST", path: "/bff/logout", status: 403, typ: "csrf"},
		{name: "api without header", method: "GET", path: "/api/x", status: 403, typ: "csrf"},
		{name: "cross-site fetch", method: "GET", path: "/bff/user", headers: map[string]string{"X-CSRF": "1", "Sec-Fetch-Site": "cross-site"}, status: 403, typ: "csrf"},
		{name: "same-site sibling", method: "GET", path: "/api/x", headers: map[string]string{"X-CSRF": "1", "Sec-Fetch-Site": "same-site"}, status: 403, typ: "csrf"},
		{name: "h2c upgrade", method: "GET", path: "/api/x", headers: map[string]string{"X-CSRF": "1", "Upgrade": "h2c", "Connection": "Upgrade, HTTP2-Settings"}, status: 400, typ: "bad_request"},
		{name: "same-origin fetch", method: "GET", path: "/bff/user", headers: map[string]string{"X-CSRF": "1", "Sec-Fetch-Site": "same-origin"}, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.URL(tc.path), nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := e.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := testenv.ReadAll(t, resp)
			if resp.StatusCode != tc.status || (tc.typ != "" && !strings.Contains(body, `"`+tc.typ+`"`)) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.typ)
			}
		})
	}
}
