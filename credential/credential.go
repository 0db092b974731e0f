// Package credential is what one proxied request carries to its upstream: a Credential
// that sets its own Authorization header (and, for proof-of-possession kinds, its proof),
// and the Identity of the user it belongs to. It sits between the code that owns sessions
// (handler, which makes credentials from session records) and the code that sends
// requests (proxy, which applies them), so that neither imports the other and neither
// writes an authorization scheme by hand.
//
// Each kind of credential is one type implementing Credential: Bearer, and DPoP (RFC
// 9449), whose Apply sets "Authorization: DPoP <token>" and a "DPoP" proof header bound to
// the outbound request's method and URL, and which answers an upstream's nonce challenge
// (Challenger).
package credential

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Credential authorizes one outbound request. Apply is called once per attempt (the
// retry after an upstream 401 gets the refreshed credential's Apply) with the request
// exactly as it will be sent: method, URL and headers final. Implementations MUST be
// safe for concurrent use and MUST NOT put the token in their String or Error texts.
type Credential interface {
	Apply(out *http.Request) error
}

// Bearer is an RFC 6750 bearer token. The token sits behind a pointer so that fmt,
// printing a struct that holds a Bearer in an unexported field (where it cannot call
// Format), shows an address, never the token.
type Bearer struct{ token *string }

// NewBearer returns the bearer credential of an access token, or nil for "": an empty
// token is no credential (never "Bearer " with nothing), and the proxy treats a nil
// credential as no session.
func NewBearer(accessToken string) Credential {
	if accessToken == "" {
		return nil
	}
	return Bearer{token: &accessToken}
}

// Apply sets "Authorization: Bearer <token>".
func (b Bearer) Apply(out *http.Request) error {
	if b.token == nil || *b.token == "" {
		return ErrEmpty
	}
	out.Header.Set("Authorization", "Bearer "+*b.token)
	return nil
}

// redacted is what every printed or encoded form of a credential shows.
const redacted = "Bearer [redacted]"

// String never shows the token (a credential that reaches a log line by mistake).
func (b Bearer) String() string { return redacted }

// GoString is String, for %#v.
func (b Bearer) GoString() string { return redacted }

// Format prints the redacted form for every verb (%d, %x, %s, %v, …), not only those
// that call String.
func (b Bearer) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue keeps the token out of slog's handlers.
func (b Bearer) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps the token out of any encoder (JSON, YAML, …).
func (b Bearer) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Identity is who a credential belongs to, for routes and forward-auth answers that pass
// the user on in headers: the ID token's sub, and the email and preferred_username claims
// ("" when the provider gave none).
type Identity struct {
	Subject, Email, PreferredUsername string
}

// Session is what a Source answers: the credential to send, whose it is, and the
// session's stable key.
type Session struct {
	Credential Credential
	Identity   Identity
	// Key is a stable, non-secret key of the session (the id's hash): live websocket and
	// SSE streams are tracked under it, so that they can be cut when the session ends.
	// "" tracks nothing.
	Key string
}

// Source supplies the credentials of ONE inbound request; the proxy asks its
// SourceFunc for one per request. Get returns the session's credential, refreshed first
// if it expires soon; force demands a refresh because the upstream rejected the
// credential the last Get returned. A Source remembers that credential itself: no
// context value carries it.
//
// Errors: ErrNoSession (the request has none); ErrNoRetry wrapped (a forced refresh
// declined on purpose: the upstream's 401 stands); otherwise an error the caller
// renders (the handler's are *problem.Error values). They never carry a token.
type Source interface {
	Get(ctx context.Context, force bool) (Session, error)
}

// SourceFunc returns the Source of one inbound request. w is the request's response
// writer, headers still unsent: a Source may add a Set-Cookie to it (a cookie re-sealed
// under a new key, a dead session's cookie cleared).
type SourceFunc func(w http.ResponseWriter, r *http.Request) Source

var (
	// ErrNoSession: the request carries no (live) session.
	ErrNoSession = errors.New("credential: no session")
	// ErrNoRetry, wrapped in what Get returns for force=true, declines the forced refresh
	// on purpose (a per-session cooldown): the upstream's 401 is passed on as it is.
	ErrNoRetry = errors.New("credential: forced refresh declined")
	// ErrEmpty: a credential without a token was applied.
	ErrEmpty = errors.New("credential: empty token")
)
