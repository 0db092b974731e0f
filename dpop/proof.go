package dpop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// proofType is the typ header of a DPoP proof (RFC 9449 §4.2).
const proofType = "dpop+jwt"

// jtiBytes is the proof's jti entropy: 128 bits, so that a jti never repeats by chance
// and a server's replay cache can refuse any repeat.
const jtiBytes = 16

// Params is what one proof binds to.
type Params struct {
	// Method is the HTTP method of the request the proof goes with (htm).
	Method string
	// URL is the request's target URL; htu is it without query and fragment (HTU).
	URL *url.URL
	// AccessToken, when set, is bound by its hash (ath): a resource request's proof.
	// Token requests carry none.
	AccessToken string
	// Nonce is the server's latest DPoP-Nonce, "" when it asked for none.
	Nonce string
	// Now is iat; zero means time.Now.
	Now time.Time
}

// claims is a proof's payload (RFC 9449 §4.2).
type claims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof is a fresh DPoP proof JWT for p: typ dpop+jwt, the public key in the jwk header,
// a random jti, and htm, htu, iat, ath and nonce as p says.
func (k *Key) Proof(p Params) (string, error) {
	if p.Method == "" || p.URL == nil {
		return "", fmt.Errorf("dpop: proof: method and URL are required")
	}
	jti := make([]byte, jtiBytes)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("dpop: proof jti: %w", err)
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := claims{
		JTI: base64.RawURLEncoding.EncodeToString(jti), HTM: p.Method, HTU: HTU(p.URL),
		IAT: now.Unix(), Nonce: p.Nonce,
	}
	if p.AccessToken != "" {
		c.ATH = ATH(p.AccessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("dpop: proof claims: %w", err)
	}
	jws, err := k.jws.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: signing the proof: %w", err)
	}
	return jws.CompactSerialize()
}

// ATH is the ath claim of a proof for accessToken: base64url(SHA-256(token)).
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HTU is the htu of a request to u (RFC 9449 §4.2, §4.3): the URL without query and
// fragment, with scheme and host in lower case, the default port dropped and an empty
// path written "/" (RFC 3986 §6.2.2, §6.2.3), so that client and server, normalising the
// same way, compare equal strings.
func HTU(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	if h, port, err := net.SplitHostPort(host); err == nil &&
		((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path
}

// Origin is the key a client remembers a server's nonce under: scheme and host.
func Origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}
