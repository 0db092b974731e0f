package refresh

import (
	"errors"
	"time"
)

// The kinds of refresh failure. Fresh's errors match exactly one of them with errors.Is
// (or are ErrForcedRefreshCooldown, or the caller's context error). They say what
// happened to the session, not how to answer: the edge that writes responses (handler)
// maps them to problem+json, once.
var (
	// ErrSessionEnded: the session is over (logged out, expired, refresh token refused);
	// its record is gone and the user must log in again.
	ErrSessionEnded = errors.New("refresh: the session has ended")
	// ErrIdPUnavailable: the provider could not refresh the token now (down, slow, or
	// refusing the BFF's client: then the error also matches idp.ErrMisconfigured). The
	// session is kept; Error.RetryAfter says when the next attempt will be made.
	ErrIdPUnavailable = errors.New("refresh: the identity provider is unavailable")
	// ErrStoreUnavailable: the session store could not take the lock, read or write.
	ErrStoreUnavailable = errors.New("refresh: the session store is unavailable")
)

// ErrForcedRefreshCooldown: a forced refresh was declined because the session's refresh
// token was already redeemed after an upstream 401 within the cooldown. The caller passes
// the upstream's 401 on as it is.
var ErrForcedRefreshCooldown = errors.New("refresh: forced refresh declined within the cooldown")

// Error is a refresh failure: its Kind (one of the Err* kinds above), the cause, and for
// ErrIdPUnavailable the back-off before the next attempt. errors.Is matches both the kind
// and anything in the cause's chain.
type Error struct {
	Kind       error
	Cause      error         // may be nil
	RetryAfter time.Duration // > 0 while the session's refresh is backing off
}

func (e *Error) Error() string {
	if e.Cause == nil {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Cause.Error()
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

func sessionEnded(cause error) *Error { return &Error{Kind: ErrSessionEnded, Cause: cause} }

func idpUnavailable(retryAfter time.Duration, cause error) *Error {
	return &Error{Kind: ErrIdPUnavailable, Cause: cause, RetryAfter: retryAfter}
}

func storeUnavailable(cause error) *Error { return &Error{Kind: ErrStoreUnavailable, Cause: cause} }
