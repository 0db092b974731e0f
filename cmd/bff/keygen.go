package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/tokenward/bff"
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
	clientKey := fs.String("client-key", "", "instead: print a private key for oidc.tokenEndpointAuth private_key_jwt (rsa, ec or ed25519) and, on stderr, the public JWKS to register at the IdP")
	clientCert := fs.Bool("client-cert", false, "with --client-key: also print, on stderr, a self-signed certificate of the key (1 year) to upload to the IdP (Microsoft Entra ID) and set as oidc.clientCertFile")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *clientCert && *clientKey == "" {
		return usageErrorf("keygen: --client-cert needs --client-key (rsa for Microsoft Entra ID)")
	}
	if *clientKey != "" {
		return a.clientKey(*clientKey, *clientCert)
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

// clientKey prints a new client private key (PEM) on stdout, so `bff keygen --client-key
// ec > client.key` writes a valid oidc.clientKeyFile, and what to register on stderr;
// withCert adds, last on stderr, a self-signed certificate of the key (stdout stays the
// key alone).
func (a *app) clientKey(kind string, withCert bool) error {
	pemKey, kid, jwks, err := bff.NewClientKey(kind)
	if err != nil {
		return usageErrorf("keygen: --client-key: %v", err)
	}
	a.stdout.Write(pemKey)
	fmt.Fprintf(a.stderr, "Keep the key secret (chmod 600) and set oidc.tokenEndpointAuth: private_key_jwt and oidc.clientKeyFile to its file.\n"+
		"Register this public key (JWKS) for the client at the IdP; its kid %s is also the default of oidc.clientKeyID:\n%s\n", kid, jwks)
	if !withCert {
		return nil
	}
	cert, err := bff.NewClientCert(pemKey, time.Now())
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(a.stderr, "Or, where the IdP registers certificates (Microsoft Entra ID: Certificates & secrets), upload this self-signed certificate (valid one year), "+
		"save it as oidc.clientCertFile and set oidc.clientAssertionAudience: tokenEndpoint for Entra:\n%s", cert)
	return nil
}
