package config

import "testing"

func TestDerivedValues(t *testing.T) {
	tests := []struct {
		name         string
		publicURL    string
		postLogout   string
		store        string
		wantRedirect string
		wantLogout   string
		wantEmbedded bool
	}{
		{
			name: "defaults", publicURL: "https://app.example.com", postLogout: "/", store: "",
			wantRedirect: "https://app.example.com/bff/callback", wantLogout: "https://app.example.com/", wantEmbedded: true,
		},
		{
			name: "port and path", publicURL: "http://localhost:8080", postLogout: "/bye?x=1", store: "embedded",
			wantRedirect: "http://localhost:8080/bff/callback", wantLogout: "http://localhost:8080/bye?x=1", wantEmbedded: true,
		},
		{
			name: "redis, unset post logout", publicURL: "https://app.example.com", postLogout: "", store: "redis",
			wantRedirect: "https://app.example.com/bff/callback", wantLogout: "https://app.example.com/", wantEmbedded: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.Server.PublicURL, c.OIDC.PostLogoutRedirect, c.Session.Store = tt.publicURL, tt.postLogout, tt.store
			if got := c.RedirectURL(); got != tt.wantRedirect {
				t.Errorf("RedirectURL() = %q, want %q", got, tt.wantRedirect)
			}
			if got := c.PostLogoutURL(); got != tt.wantLogout {
				t.Errorf("PostLogoutURL() = %q, want %q", got, tt.wantLogout)
			}
			if got := c.Embedded(); got != tt.wantEmbedded {
				t.Errorf("Embedded() = %v, want %v", got, tt.wantEmbedded)
			}
		})
	}
}

func TestAllowHTTPIssuer(t *testing.T) {
	tests := []struct {
		name     string
		issuer   string
		insecure bool
		want     bool
	}{
		{name: "https issuer", issuer: "https://idp.example.com", want: false},
		{name: "flag set", issuer: "http://keycloak:8080/realms/x", insecure: true, want: true},
		{name: "loopback name", issuer: "http://localhost:8081", want: true},
		{name: "loopback v4", issuer: "http://127.0.0.1:8081", want: true},
		{name: "loopback v6", issuer: "http://[::1]:8081", want: true},
		{name: "remote host, no flag", issuer: "http://idp.example.com", want: false},
		{name: "lookalike host", issuer: "http://localhost.example.com", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.OIDC.Issuer, c.OIDC.AllowInsecureIssuer = tt.issuer, tt.insecure
			if got := c.AllowHTTPIssuer(); got != tt.want {
				t.Errorf("AllowHTTPIssuer() = %v, want %v", got, tt.want)
			}
		})
	}
}
