package idp

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestUnverifiedIssuer(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hdr := enc(`{"alg":"RS256"}`)
	for _, tt := range []struct {
		name, raw, want string
	}{
		{"iss", hdr + "." + enc(`{"iss":"https://a.example","sub":"x"}`) + ".sig", "https://a.example"},
		{"no iss", hdr + "." + enc(`{"sub":"x"}`) + ".sig", ""},
		{"two parts", hdr + "." + enc(`{"iss":"https://a.example"}`), ""},
		{"not base64", hdr + ".%%%.sig", ""},
		{"not json", hdr + "." + enc(`iss`) + ".sig", ""},
		{"too long", hdr + "." + enc(`{"iss":"https://a.example","x":"`+strings.Repeat("a", 20000)+`"}`) + ".sig", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnverifiedIssuer(tt.raw)
			if got != tt.want || (tt.want == "") != errors.Is(err, ErrInvalidToken) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
