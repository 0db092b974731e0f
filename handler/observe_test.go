package handler

import (
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		keep bool
	}{
		{name: "uuid kept", in: "3f2a7c1e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", keep: true},
		{name: "dots and underscores kept", in: "trace_1.2", keep: true},
		{name: "empty replaced", in: ""},
		{name: "log injection replaced", in: "abc\nlevel=ERROR msg=forged"},
		{name: "header injection replaced", in: "abc\r\nSet-Cookie: x=1"},
		{name: "spaces replaced", in: "a b"},
		{name: "too long replaced", in: strings.Repeat("a", 65)},
		{name: "non-ASCII replaced", in: "über"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := requestID(tc.in)
			if tc.keep && got != tc.in {
				t.Fatalf("requestID(%q) = %q, want it kept", tc.in, got)
			}
			if !tc.keep && (got == tc.in || len(got) != 32) {
				t.Fatalf("requestID(%q) = %q, want a fresh 32-hex id", tc.in, got)
			}
		})
	}
}
