package session

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	k1, k2 := newTestKey(t), newTestKey(t)
	raw31 := base64.StdEncoding.EncodeToString(make([]byte, 31))
	raw33 := base64.StdEncoding.EncodeToString(make([]byte, 33))
	rawURL := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xfb", 32)))
	tests := []struct {
		name     string
		keys     []string
		wantKeys int
		wantErr  string // substring of the error; "" for success
	}{
		{name: "one key", keys: []string{k1}, wantKeys: 1},
		{name: "newest first, two keys", keys: []string{k1, k2}, wantKeys: 2},
		{name: "surrounding white space from a file", keys: []string{" " + k1 + "\n"}, wantKeys: 1},
		{name: "no keys", keys: nil, wantErr: "no keys"},
		{name: "empty key", keys: []string{""}, wantErr: "key 0: not 32 bytes"},
		{name: "31 bytes", keys: []string{k1, raw31}, wantErr: "key 1: not 32 bytes"},
		{name: "33 bytes", keys: []string{raw33}, wantErr: "key 0: not 32 bytes"},
		{name: "not base64", keys: []string{k1, k2, "not base64 at all!"}, wantErr: "key 2: not standard base64"},
		{name: "base64url instead of standard", keys: []string{rawURL}, wantErr: "key 0: not standard base64"},
		{name: "hex instead of base64", keys: []string{strings.Repeat("ab", 32)}, wantErr: "key 0: not 32 bytes"},
		{name: "duplicate key", keys: []string{k1, k2, k1}, wantErr: "key 2 repeats key 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ring, err := ParseKeys(tc.keys)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := len(ring.KeyIDs()); got != tc.wantKeys {
					t.Fatalf("ring has %d keys, want %d", got, tc.wantKeys)
				}
				return
			}
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseKeys = %v, want ErrInvalidKey with %q", err, tc.wantErr)
			}
			for _, k := range tc.keys {
				if k = strings.TrimSpace(k); len(k) > 4 && strings.Contains(err.Error(), k) {
					t.Fatalf("error %q contains a key", err)
				}
			}
		})
	}
}

func TestKeyDerivationSeparatesUses(t *testing.T) {
	k := mustRing(t, newTestKey(t)).keys[0]
	derived := [][]byte{k.cookieHash, k.cookieBlock, k.indexKey}
	for i := range derived {
		if len(derived[i]) != KeySize {
			t.Fatalf("derived key %d has %d bytes", i, len(derived[i]))
		}
		for j := range i {
			if string(derived[i]) == string(derived[j]) {
				t.Fatalf("derived keys %d and %d are equal", i, j)
			}
		}
	}
}

func TestKeyDerivationIsStable(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", KeySize)))
	a, b := mustRing(t, key), mustRing(t, key)
	if !slices.Equal(a.KeyIDs(), b.KeyIDs()) || string(a.keys[0].cookieHash) != string(b.keys[0].cookieHash) {
		t.Fatal("the same key derived different keys: replicas could not share sessions")
	}
	if got := a.KeyIDs()[0]; len(got) != 2*keyIDSize {
		t.Fatalf("key id %q is not %d hex bytes", got, keyIDSize)
	}
}

func TestNewKeyIsAcceptedAndRandom(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	if a == b {
		t.Fatal("NewKey repeated itself")
	}
	mustRing(t, a, b)
}
