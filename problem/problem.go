// Package problem renders RFC 9457 problem details. It is the one place that decides
// what an error looks like on the wire for API callers, so that no handler ever echoes
// an internal error (which could carry a token or a stack) to a client.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Type is a stable, documented problem type. Clients switch on it.
type Type string

// The problem types of the external contract (docs/spa.md, docs/security.md).
const (
	Unauthenticated     Type = "unauthenticated"
	SessionExpired      Type = "session_expired"
	CSRF                Type = "csrf"
	Forbidden           Type = "forbidden"
	UpstreamUnavailable Type = "upstream_unavailable"
	IdPUnavailable      Type = "idp_unavailable"
	StoreUnavailable    Type = "store_unavailable"
	BadRequest          Type = "bad_request"
	NotFound            Type = "not_found"
	MethodNotAllowed    Type = "method_not_allowed"
	TooManyRequests     Type = "too_many_requests"
	Internal            Type = "internal"
	// TokenRefused: the provider refused the token a route needs (RFC 8707 resource,
	// RFC 8693 exchange); the request is not sent with any other token.
	TokenRefused Type = "token_refused"
)

// ContentType of every problem response.
const ContentType = "application/problem+json"

// Error is an error that knows its HTTP status and problem type. Detail is shown to the
// client and so MUST NOT contain secrets; Err is for logs only and is never rendered.
type Error struct {
	Status int
	Type   Type
	Detail string
	Err    error
	// RetryAfter, when positive, is sent as Retry-After (whole seconds, rounded up): when
	// a 503 is known to last a while (the refresh back-off), clients learn when to retry.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Type) + ": " + e.Detail + ": " + e.Err.Error()
	}
	return string(e.Type) + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a problem error. err may be nil.
func New(status int, typ Type, detail string, err error) *Error {
	return &Error{Status: status, Type: typ, Detail: detail, Err: err}
}

// body is the RFC 9457 member set we emit.
type body struct {
	Type   Type   `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Write answers with a problem+json body. It never includes e.Err.
func Write(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body{Type: e.Type, Title: http.StatusText(e.Status), Status: e.Status, Detail: e.Detail})
}
