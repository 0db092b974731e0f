package config

import "testing"

// testClientKeyPEM is a throwaway ECDSA P-256 key (PKCS#8) for the private_key_jwt cases.
const testClientKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghKNcdqTeSXaYySVp
acWKe1EfB9GDfGdVpaslrznA3qqhRANCAAQcOX7DtFV1C5GgdRpJnlLv8W7/Iw5C
49HP9jhW3E4CdA2RakNfPEvsmhba41HUdRSEhCFevj46cx4fomiCC8+H
-----END PRIVATE KEY-----
`

func TestParsePrivateKey(t *testing.T) {
	for _, tt := range []struct {
		name, pem string
		ok        bool
	}{
		{"PKCS#8 P-256", testClientKeyPEM, true},
		{"not PEM", "hello", false},
		{"a certificate block", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", false},
		{"a broken key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tt.pem)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
		})
	}
}
