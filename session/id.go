package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// idBytes is the entropy of a session id: 256 bits.
const idBytes = 32

// NewID returns a fresh session id: 256 random bits, base64url without padding
// (43 characters). Only the browser's sealed cookie holds it; the store keeps IDHash(id).
func NewID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: new id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// IDHash is the storage name of a session id: hex SHA-256 of the id. The store keys
// records by it, DeleteBySID/DeleteBySubject return it, and it is safe to log and to
// use as a label for a session's live streams. An unsalted hash is enough: the id has
// 256 bits of entropy, so the hash cannot be inverted by guessing.
func IDHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// NewLogoutHandle returns a fresh logout handle (Record.LogoutHandle): 130 random bits as
// 26 base32 characters, safe in a query string as is. It cannot fail (crypto/rand.Text).
func NewLogoutHandle() string { return rand.Text() }

// NewSessionHandle returns a fresh session handle (Record.Handle): 256 random bits,
// base64url without padding (43 characters).
func NewSessionHandle() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
