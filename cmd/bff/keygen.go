package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
)

// keygenSize is the size of a session key in bytes (config validates the same).
const keygenSize = 32

// maxKeygenCount bounds --count.
const maxKeygenCount = 100

// runKeygen prints --count fresh keys on stdout, one per line, and how to use them on
// stderr, so `bff keygen > keys.txt` writes a valid session.keysFile.
func (a *app) runKeygen(_ context.Context, args []string) error {
	fs := a.bareFlagSet("keygen", "print fresh session keys: standard base64 of 32 random bytes, one per line")
	count := fs.Int("count", 1, "how many keys to print (1-100)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *count < 1 || *count > maxKeygenCount {
		return usageErrorf("keygen: --count must be from 1 to %d", maxKeygenCount)
	}
	for range *count {
		key, err := newKey(rand.Reader)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, key)
	}
	fmt.Fprintln(a.stderr, "Put a new key FIRST in session.keys (or a line of session.keysFile / BFF_SESSION_KEYS, comma-separated); keep the older keys after it until their sessions have expired. Treat keys as secrets.")
	return nil
}

// newKey reads a key from r and returns it in standard base64.
func newKey(r io.Reader) (string, error) {
	b := make([]byte, keygenSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("keygen: read random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
