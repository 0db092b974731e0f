package idp

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/logbuf"
)

func validConfig() Config {
	return Config{
		Issuer:       "https://idp.example.com",
		ClientID:     testClientID,
		ClientSecret: testSecret,
		RedirectURL:  testRedirect,
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Config)
		wantText string // a fragment of the error; "" means New must succeed
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "client_secret_post", edit: func(c *Config) { c.AuthStyle = AuthStylePost }},
		{name: "missing issuer", edit: func(c *Config) { c.Issuer = "" }, wantText: "Issuer: required"},
		{name: "http issuer refused by default", edit: func(c *Config) { c.Issuer = "http://idp.example.com" }, wantText: "https required"},
		{name: "http issuer with AllowInsecureIssuer", edit: func(c *Config) {
			c.Issuer, c.AllowInsecureIssuer = "http://127.0.0.1:5556", true
		}},
		{name: "relative issuer", edit: func(c *Config) { c.Issuer = "/idp" }, wantText: "absolute"},
		{name: "missing client id", edit: func(c *Config) { c.ClientID = "" }, wantText: "ClientID"},
		{name: "missing secret", edit: func(c *Config) { c.ClientSecret = "" }, wantText: "ClientSecret"},
		{name: "scopes without openid", edit: func(c *Config) { c.Scopes = []string{"profile"} }, wantText: "openid"},
		{name: "auto-detect auth style refused", edit: func(c *Config) { c.AuthStyle = "auto" }, wantText: "AuthStyle"},
		{name: "missing redirect", edit: func(c *Config) { c.RedirectURL = "" }, wantText: "RedirectURL"},
		{name: "post-logout on another origin (open redirect)", edit: func(c *Config) {
			c.PostLogoutRedirectURL = "https://evil.example.net/"
		}, wantText: "same origin"},
		{name: "post-logout relative", edit: func(c *Config) { c.PostLogoutRedirectURL = "/" }, wantText: "absolute"},
		{name: "auth param redirect_uri (redirect swap)", edit: func(c *Config) {
			c.AuthParams = []string{"prompt", "redirect_uri"}
		}, wantText: `"redirect_uri"`},
		{name: "auth param response_mode (code leak)", edit: func(c *Config) { c.AuthParams = []string{"response_mode"} }, wantText: "response_mode"},
		{name: "negative timeout", edit: func(c *Config) { c.Timeout = -time.Second }, wantText: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.edit(&cfg)
			p, err := New(cfg)
			if tt.wantText == "" {
				if err != nil || p == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error leaks the client secret: %q", err)
			}
		})
	}
}

func TestNewListsEveryProblem(t *testing.T) {
	_, err := New(Config{})
	for _, want := range []string{"Issuer", "ClientID", "ClientSecret", "RedirectURL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %s", err, want)
		}
	}
}

func TestNewDoesNoNetworkIO(t *testing.T) {
	op := newTestOP(t)
	cfg := op.testConfig(&logbuf.Buffer{})
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := op.count("discovery") + op.count("jwks"); n != 0 {
		t.Errorf("New made %d requests, want 0", n)
	}
	if err := p.Ready(); !errors.Is(err, ErrNotReady) {
		t.Errorf("Ready before discovery = %v, want ErrNotReady", err)
	}
}

func TestNewHardensTheGivenHTTPClient(t *testing.T) {
	given := &http.Client{}
	cfg := validConfig()
	cfg.HTTPClient = given
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.client == given || given.CheckRedirect != nil || given.Transport != nil {
		t.Fatal("the caller's client must be copied, not modified")
	}
	if p.client.CheckRedirect == nil || p.client.Timeout != DefaultTimeout {
		t.Errorf("hardened client: CheckRedirect set = %v, Timeout = %v", p.client.CheckRedirect != nil, p.client.Timeout)
	}
	if _, ok := p.client.Transport.(*limitTransport); !ok {
		t.Errorf("hardened client transport = %T, want *limitTransport", p.client.Transport)
	}
}
