package demoop

import (
	"strings"
	"testing"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := Client{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:9/cb"}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // every problem is listed
	}{
		{name: "http issuer off loopback", cfg: Config{Issuer: "http://op.example.com", Clients: []Client{good}},
			wantErr: []string{"loopback"}},
		{name: "issuer with path", cfg: Config{Issuer: "http://127.0.0.1:1/op", Clients: []Client{good}},
			wantErr: []string{"origin"}},
		{name: "no clients", cfg: Config{Issuer: "https://op.example.com"}, wantErr: []string{"at least one client"}},
		{name: "several client problems", cfg: Config{Issuer: "https://op.example.com", Clients: []Client{
			good, {ID: "c", RedirectURIs: []string{"/relative"}, BackchannelLogoutURI: "ftp://x"},
		}}, wantErr: []string{"duplicate id", "a secret or a public key is required", "/relative", "ftp://x"}},
		{name: "duplicate users", cfg: Config{Issuer: "https://op.example.com", Clients: []Client{good},
			Users: []User{{Username: "a", Password: "p", Subject: "1"}, {Username: "a", Password: "p", Subject: "1"}}},
			wantErr: []string{"duplicate username", "duplicate subject"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestNewAcceptsLoopbackHTTPAndHTTPS(t *testing.T) {
	good := Client{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:9/cb"}}
	for _, issuer := range []string{"http://127.0.0.1:41234", "http://localhost:8080", "http://[::1]:9", "https://op.example.com"} {
		t.Run(issuer, func(t *testing.T) {
			if _, err := newOP(Config{Issuer: issuer, Clients: []Client{good}}, sharedTestKey); err != nil {
				t.Errorf("New(%q): %v", issuer, err)
			}
		})
	}
}
