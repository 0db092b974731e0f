package credential

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tokenward/bff/dpop"
)

// DPoP is an RFC 9449 sender-constrained access token: each request carries
// "Authorization: DPoP <token>" and a fresh proof, signed by the session's key, bound to
// the request's method and URL and to the token (ath), with the upstream's latest nonce.
// A captured token is useless without the key, and a captured proof is good for one
// request, once. Like Bearer it never prints its token.
type DPoP struct {
	token  *string
	key    *dpop.Key
	nonces *dpop.Nonces
}

// NewDPoP returns the DPoP credential of an access token bound to key; nonces are the
// upstreams' latest DPoP-Nonce values, shared by every request (nil keeps none). nil for
// an empty token or no key.
func NewDPoP(accessToken string, key *dpop.Key, nonces *dpop.Nonces) Credential {
	if accessToken == "" || key == nil {
		return nil
	}
	if nonces == nil {
		nonces = &dpop.Nonces{}
	}
	return DPoP{token: &accessToken, key: key, nonces: nonces}
}

// Apply sets "Authorization: DPoP <token>" and "DPoP: <proof>" for out's method and URL
// (htu: the URL without query and fragment, as the upstream receives it).
func (d DPoP) Apply(out *http.Request) error {
	if d.token == nil || *d.token == "" || d.key == nil {
		return ErrEmpty
	}
	proof, err := d.key.Proof(dpop.Params{
		Method: out.Method, URL: out.URL, AccessToken: *d.token, Nonce: d.nonces.Get(dpop.Origin(out.URL)),
	})
	if err != nil {
		return fmt.Errorf("credential: %w", err)
	}
	out.Header.Set("Authorization", "DPoP "+*d.token)
	out.Header.Set("DPoP", proof)
	return nil
}

// Challenge implements Challenger. It remembers a valid DPoP-Nonce of any answer for
// resp's origin (RFC 9449 §8.2: a server may supply its next nonce on any response, a
// 2xx included), and reports whether resp is a 401 with a DPoP use_dpop_nonce challenge
// (§9) whose nonce it now holds: the caller may re-send once, with a new proof, and no
// refresh (the token is fine).
func (d DPoP) Challenge(resp *http.Response) bool {
	if resp.Request == nil || resp.Request.URL == nil {
		return false
	}
	remembered := d.nonces.Remember(dpop.Origin(resp.Request.URL), resp.Header)
	return remembered && dpop.IsNonceChallenge(resp.StatusCode, resp.Header, "")
}

// Challenger is a credential that reads every answer of the upstream and can answer its
// challenge by itself, without a new token: Challenge is called on every response, learns
// what it needs for the next Apply, and reports whether resp is such a challenge. The
// proxy then re-sends a replayable request once.
type Challenger interface {
	Challenge(resp *http.Response) bool
}

// redactedDPoP is what every printed or encoded form of a DPoP credential shows.
const redactedDPoP = "DPoP [redacted]"

// String never shows the token.
func (d DPoP) String() string { return redactedDPoP }

// GoString is String, for %#v.
func (d DPoP) GoString() string { return redactedDPoP }

// Format prints the redacted form for every verb.
func (d DPoP) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redactedDPoP)) }

// LogValue keeps the token out of slog's handlers.
func (d DPoP) LogValue() slog.Value { return slog.StringValue(redactedDPoP) }

// MarshalText keeps the token out of any encoder.
func (d DPoP) MarshalText() ([]byte, error) { return []byte(redactedDPoP), nil }
