// Package testsecret makes throw-away secrets for the deployment checks.
package testsecret

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// Hex is 24 random bytes in hex: a client secret or password.
func Hex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Key is what `bff keygen` prints: the standard base64 of 32 random bytes.
func Key(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
