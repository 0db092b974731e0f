package idp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// UnverifiedIssuer returns the iss claim of a compact JWS (a logout token) WITHOUT
// verifying anything: it only chooses which configured provider verifies the token
// fully (VerifyLogoutToken). Nothing else may trust it. Errors wrap ErrInvalidToken and
// never contain the token.
func UnverifiedIssuer(raw string) (string, error) {
	if len(raw) > maxLogoutTokenLen {
		return "", fmt.Errorf("%w: token too long", ErrInvalidToken)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64url", ErrInvalidToken)
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer == "" {
		return "", fmt.Errorf("%w: payload has no iss", ErrInvalidToken)
	}
	return c.Issuer, nil
}

// StoredIDTokenOf reports whether idToken, an ID token the BFF verified when it stored it
// (a session record is sealed: nobody else wrote it), was issued by issuer. It tells a
// record made before oidc.providers existed (it names no provider) from the default
// provider's: only a record whose ID token names that provider's issuer may be refreshed,
// revoked or logged out there. No ID token, or an unreadable one, is no match.
func StoredIDTokenOf(idToken, issuer string) bool {
	iss, err := UnverifiedIssuer(idToken)
	return err == nil && iss == issuer
}
