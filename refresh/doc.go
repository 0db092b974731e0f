// Package refresh keeps a session's access token fresh, refreshing it exactly once however
// many requests, tabs and replicas race for it.
//
// The shape follows golang.org/x/oauth2's reuseTokenSource wrapping tokenRefresher: each
// layer answers if it can and otherwise hands on to the next:
//
//  1. still valid for longer than the skew?          → use it (no I/O beyond the session read)
//  2. in-process single-flight per session            → one goroutine per replica goes on;
//     the others wait on their OWN request context, at most Config.Wait; a request whose
//     token is still valid (only inside the skew) does not wait at all: it goes on with it
//     and the refresh runs behind it
//  3. cross-replica lock in the session store         → one replica goes on; the others wait
//     for the release (pub/sub), re-checking every Config.Poll, and re-read the session. The
//     lease is short (2 s) and renewed by its live holder, so a dead holder or a lock whose
//     acquisition the client gave up on during a stall blocks nobody for long
//  4. re-read the session under the lock and check again → a refresh done meanwhile by
//     another replica is used as it is; a redemption mark of another attempt younger than
//     Config.PendingWindow means "do not redeem" (see mark.go)
//  5. mark the record, then call the IdP's token endpoint, with the lease renewed while the
//     call runs; a save that fails afterwards keeps the new tokens in memory and is retried
//     under the lock (unsaved.go), never dropped
//
// With refresh-token rotation a second refresh with the same refresh token would make the
// IdP revoke the whole token family, logging the user out: steps 2–4 exist so that it never
// happens. The shared work runs on a context no single caller can cancel
// (context.WithoutCancel plus a timeout), so a caller that gives up does not abort a refresh
// that others wait for, and a rotated refresh token is never lost between the IdP and the store.
//
// Outcomes: invalid_grant ends the session (401 session_expired); a network error or 5xx from
// the IdP keeps it (503 idp_unavailable), and a still-valid old token is used meanwhile. A
// store failure while taking or awaiting the lock likewise serves a still-valid token, and
// is 503 store_unavailable only once the token has expired. A forced refresh (the upstream
// answered 401) never falls back: the old token is the one just rejected.
//
// Amplification limits, both kept in the session record so that every replica honours
// them (nothing a replica keeps in memory is needed by another):
//   - a forced refresh redeems the refresh token at most once per Config.ForcedCooldown per
//     session (Record.ForcedRefreshAt); within it Fresh returns ErrForcedRefreshCooldown and
//     the proxy passes the upstream's 401 on, so an upstream that rejects every token
//     cannot make every API call a grant at the IdP;
//   - an IdP failure puts the session in an exponential, jittered back-off
//     (Record.RefreshFailures, Record.RefreshRetryAt; see BackoffBase): until it passes, no
//     IdP call is made for the session, a still-valid token is served and an expired one
//     gets 503 idp_unavailable with Retry-After. It is checked before the single-flight and
//     again on the record re-read under the lock (a caller's copy may predate another
//     replica's failure). A success clears it.
package refresh
