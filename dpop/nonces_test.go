package dpop

import (
	"net/http"
	"testing"
)

// TestIsNonceChallenge: only a DPoP use_dpop_nonce challenge with a usable nonce counts.
func TestIsNonceChallenge(t *testing.T) {
	h := func(www, nonce string) http.Header {
		out := http.Header{}
		if www != "" {
			out.Set("WWW-Authenticate", www)
		}
		if nonce != "" {
			out.Set("DPoP-Nonce", nonce)
		}
		return out
	}
	cases := []struct {
		name    string
		status  int
		h       http.Header
		bodyErr string
		want    bool
	}{
		{"resource server", 401, h(`DPoP error="use_dpop_nonce", error_description="x"`, "n1"), "", true},
		{"no nonce header", 401, h(`DPoP error="use_dpop_nonce"`, ""), "", false},
		{"other error", 401, h(`DPoP error="invalid_token"`, "n1"), "", false},
		{"unquoted", 401, h(`DPoP algs="ES256", error=use_dpop_nonce`, "n1"), "", true},
		{"longer error name", 401, h(`DPoP error=use_dpop_nonce_x`, "n1"), "", false},
		{"bearer scheme", 401, h(`Bearer error="use_dpop_nonce"`, "n1"), "", false},
		{"authorization server", 400, h("", "n1"), "use_dpop_nonce", true},
		{"400 other error", 400, h("", "n1"), "invalid_grant", false},
		{"bad nonce chars", 401, h(`DPoP error="use_dpop_nonce"`, `a"b`), "", false},
		{"500", 500, h(`DPoP error="use_dpop_nonce"`, "n1"), "use_dpop_nonce", false},
	}
	for _, tc := range cases {
		if got := IsNonceChallenge(tc.status, tc.h, tc.bodyErr); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	var n Nonces
	if n.Remember("https://a", h("", "")) || n.Get("https://a") != "" {
		t.Fatal("remembered no nonce")
	}
	n.Remember("https://a", h("", "n2"))
	if n.Get("https://a") != "n2" || n.Get("https://b") != "" {
		t.Fatal("nonce not kept per origin")
	}
}
