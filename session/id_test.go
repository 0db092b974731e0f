package session

import (
	"encoding/base64"
	"net/url"
	"testing"
)

func TestNewIDHas256RandomBits(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := mustID(t)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
		if err != nil || len(raw) != 32 || len(id) != 43 {
			t.Fatalf("id %q: %d bytes, err %v; want 32 bytes of base64url without padding", id, len(raw), err)
		}
		if seen[id] {
			t.Fatal("NewID repeated an id")
		}
		seen[id] = true
	}
}

func TestIDHash(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want string
	}{
		{name: "empty", id: "", want: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{name: "abc", id: "abc", want: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IDHash(tc.id); got != tc.want {
				t.Fatalf("IDHash(%q) = %s, want %s", tc.id, got, tc.want)
			}
			if !isIDHash(IDHash(tc.id)) {
				t.Fatal("IDHash output is not recognised as an id hash")
			}
		})
	}
}

// TestLogoutHandleIsUnguessable: a logout handle (the GET logout link's proof) has at
// least 128 random bits, is query-safe, and never repeats.
func TestLogoutHandleIsUnguessable(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		h := NewLogoutHandle()
		// 26 base32 characters carry 130 bits.
		if len(h) < 26 || url.QueryEscape(h) != h {
			t.Fatalf("handle %q: want >= 26 query-safe characters", h)
		}
		if seen[h] {
			t.Fatalf("handle %q repeated", h)
		}
		seen[h] = true
	}
}
