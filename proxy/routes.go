package proxy

import (
	"time"

	"github.com/tokenward/bff/credential"
)

// Route is one route the proxy serves, in the proxy's own terms (the assembly builds it
// from config's routes[] entry, whose keys docs/configuration.md describes). New checks
// every route once and refuses what would make the proxy unsafe.
type Route struct {
	// Name labels logs and metrics. "" means the Path.
	Name string
	// Path is the prefix the route claims: clean, starting and ending with "/".
	Path string
	// Upstream is the absolute http(s) base URL requests go to.
	Upstream string
	// StripPrefix is removed from the path before proxying ("/api" for "/api/").
	StripPrefix string
	// Auth says whether a request needs a session. "" means AuthRequired.
	Auth Auth
	// Timeout bounds the wait for the upstream's response headers once the request has
	// been sent whole (its body included), not the upload and not the response body.
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// UploadIdleTimeout bounds each pause in a request body: no byte from the client for
	// that long ends the request with 408, no byte taken by the upstream with 504; the
	// upstream sees the request aborted. 0 means DefaultUploadIdleTimeout.
	UploadIdleTimeout time.Duration
	// Methods allowed; empty means all.
	Methods []string
	// RetryOn401 allows one forced refresh and one re-send when the upstream answers 401
	// to a replayable request.
	RetryOn401 bool
	// MaxRequestBody bounds the request body in bytes while it streams; 0 means no bound.
	MaxRequestBody int64
	// PassEncodedSlashes routes paths holding %2F here and passes them on unchanged (see
	// Proxy.Match).
	PassEncodedSlashes bool
	// IdentityHeaders names the headers that carry the session's identity upstream.
	IdentityHeaders IdentityHeaders
	// Token, when set, asks for a token of the route's own (a resource's, or an exchanged
	// one) instead of the session's: the credential source sees it in the request's
	// context (credential.TokenSpecFrom). Not with AuthNone.
	Token *credential.TokenSpec
}

// Auth is a route's authentication mode.
type Auth string

// The auth modes.
const (
	// AuthRequired: a request without a session gets 401 unauthenticated.
	AuthRequired Auth = "required"
	// AuthOptional: a request without a session goes upstream without a credential.
	AuthOptional Auth = "optional"
	// AuthNone: no credential is ever asked for or sent.
	AuthNone Auth = "none"
)

// DefaultTimeout applies when a route's Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultUploadIdleTimeout applies when a route's UploadIdleTimeout is zero.
const DefaultUploadIdleTimeout = 30 * time.Second

// IdentityHeaders names the request headers that carry the signed-in user to the
// upstream; an empty name sends nothing for that value.
type IdentityHeaders struct {
	User, Email, PreferredUsername string
}

// names returns the configured (non-empty) names.
func (h IdentityHeaders) names() []string {
	var out []string
	for _, n := range []string{h.User, h.Email, h.PreferredUsername} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}
