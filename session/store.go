package session

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of the Store. Callers match them with errors.Is.
var (
	// ErrNotFound: no live record for that id (never existed, expired, deleted).
	ErrNotFound = errors.New("session: not found")
	// ErrUnavailable wraps every failure to reach the backing store (network, timeout,
	// server error). Handlers answer 503 store_unavailable for it.
	ErrUnavailable = errors.New("session: store unavailable")
	// ErrLockHeld: another holder (this or another replica) owns the lock.
	ErrLockHeld = errors.New("session: lock held by another holder")
	// ErrLockLost: the lease expired or was taken over before Renew/Release.
	ErrLockLost = errors.New("session: lock lost")
	// ErrLoginNotBound: the pending login exists but is bound to none of the bindings
	// the caller offered (another browser's login); it was left in place.
	ErrLoginNotBound = errors.New("session: pending login bound to another browser")
)

// Store keeps session records server-side. Implementations seal records at rest and
// key them by a hash of the session id, so a dump of the store yields neither a usable
// cookie nor a readable token.
//
// All methods are safe for concurrent use by any number of goroutines and replicas.
// Every method takes the caller's context and returns within its deadline; failures
// to reach the backend wrap ErrUnavailable.
type Store interface {
	// Get returns the record of id and slides its idle expiry, in ONE round trip.
	// The record's stored lifetime is min(idle timeout, absolute expiry - now).
	// ErrNotFound when absent or past its absolute expiry.
	Get(ctx context.Context, id string) (*Record, error)
	// Touch slides the idle expiry of the record stored under idHash (see IDHash), like
	// Get, without reading it, and reports whether it is still live. Live streams use it:
	// an open stream is activity, and a stream whose session is gone is cut.
	Touch(ctx context.Context, idHash string) (bool, error)
	// TouchMany is Touch of each of idHashes in one round trip (one per node on Cluster):
	// live[i] says whether idHashes[i] is still live. An error means none was reported
	// (some may have been slid). The read cache's write-behind touches use it.
	TouchMany(ctx context.Context, idHashes []string) (live []bool, err error)
	// Peek returns the record stored under idHash (see IDHash) and the time its stored
	// lifetime ends (the idle expiry, capped by the absolute expiry), WITHOUT sliding
	// the idle expiry: what watches a session without being activity (the session
	// events stream) reads. ErrNotFound when absent or past its absolute expiry.
	Peek(ctx context.Context, idHash string) (*Record, time.Time, error)
	// Save writes rec under id (creating or replacing it), indexes it by rec.SID and
	// rec.Subject, and sets its lifetime to min(idle timeout, rec.AbsoluteExpiry - now).
	Save(ctx context.Context, id string, rec *Record) error
	// Update is Save for a record that must still exist: it replaces the record of id
	// only if one is stored, atomically against a concurrent Delete, and returns
	// ErrNotFound when there is none (a logout, back-channel logout or expiry ended the
	// session meanwhile). Refreshes and re-sealing use it, so that a session ended while
	// they ran is never written back to life.
	Update(ctx context.Context, id string, rec *Record) error
	// Delete removes the record of id and its entries in the sid and subject indexes;
	// deleting an absent record is not an error.
	Delete(ctx context.Context, id string) error
	// DeleteBySID removes every record whose SID is sid (and its entries in every index:
	// the DeleteBy* all leave no index entry of a session they ended) and returns their ids' hashes
	// (see IDHash), which is all a caller needs to cut live streams. Only records it
	// actually deleted are returned: one that had already expired or been deleted is
	// not, so callers can count ended sessions from the result. The DeleteBy* methods
	// all return this way.
	DeleteBySID(ctx context.Context, sid string) ([]string, error)
	// DeleteBySubject removes every record of the subject ("log out everywhere").
	DeleteBySubject(ctx context.Context, sub string) ([]string, error)
	// DeleteBySIDAndSubject removes every record whose SID is sid AND whose Subject is
	// sub, and returns their ids' hashes: a back-channel logout token naming both must
	// match both. Records of that sid with another subject are kept. Nothing is removed
	// when either value is empty.
	DeleteBySIDAndSubject(ctx context.Context, sid, sub string) ([]string, error)
	// ListBySubject returns the live sessions indexed under subjectKey (SubjectKey: the
	// provider-qualified subject), newest first, without sliding their expiry: at most
	// MaxListed, with Truncated set when the subject has more (DeleteBySubject still ends
	// them all). Every record is opened and checked to belong to subjectKey.
	ListBySubject(ctx context.Context, subjectKey string) (Listing, error)
	// DeleteByIDHashes removes the records stored under these id hashes (see IDHash; at
	// most MaxListed at once) and their index entries, and returns, like the DeleteBy*,
	// the hashes of those it actually deleted.
	DeleteByIDHashes(ctx context.Context, idHashes []string) ([]string, error)
	// Once records key for ttl and reports whether it was new: false means it was seen
	// before within ttl (replay detection for logout-token jti values).
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// PutLogin stores value, a pending login, under key for ttl, sealed at rest like a
	// record and named by a hash of key, bound to binding (only its hash is stored).
	PutLogin(ctx context.Context, key, binding string, value []byte, ttl time.Duration) error
	// TakeLogin returns the value PutLogin stored under key and removes it in the same
	// step, so a pending login is used at most once, whatever the concurrency; but only
	// when its binding is one of bindings: otherwise ErrLoginNotBound, and it stays, so
	// whoever learns a key (an OAuth state) cannot burn another browser's login.
	// ErrNotFound when there is none (never stored, expired, already taken, or it does not
	// open).
	TakeLogin(ctx context.Context, key string, bindings []string) ([]byte, error)
	// Lock obtains the cross-replica refresh lock of id with the given lease, or
	// returns ErrLockHeld at once. See Lock for renewing and releasing.
	Lock(ctx context.Context, id string, lease time.Duration) (Lock, error)
	// WaitUnlock blocks until the lock of id is released or expires, or ctx ends.
	WaitUnlock(ctx context.Context, id string) error
	// PublishEnded tells every replica that the sessions with these id hashes ended
	// (logout, back-channel logout), so each can cut its live streams of them.
	PublishEnded(ctx context.Context, idHashes []string) error
	// PublishRefreshed tells every replica that the records with these id hashes now
	// hold new tokens (a refresh saved them), so that each can drop what it cached of
	// them and tell the sessions' pages.
	PublishRefreshed(ctx context.Context, idHashes []string) error
	// Watch calls fn, on its own goroutine, with every event any replica publishes, until
	// ctx ends. It returns at once and resubscribes by itself after a failure;
	// announcements made while it is disconnected are lost, which is why every
	// subscription, the first included, begins with an EventResubscribed.
	Watch(ctx context.Context, fn func(Event))
	// Ping checks the backend is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases connections (and stops the embedded server).
	Close() error
}

// MaxListed bounds ListBySubject's answer (and DeleteByIDHashes' argument): a person has
// a few devices, and a listing must stay one bounded read whatever an index holds.
const MaxListed = 200

// Listing is ListBySubject's answer.
type Listing struct {
	// Sessions, newest (Created) first.
	Sessions []Listed
	// Truncated: the subject has more than MaxListed live sessions; Sessions holds the
	// MaxListed newest of those read.
	Truncated bool
}

// Listed is one session of a listing: never its id, only the id's hash.
type Listed struct {
	IDHash string
	Record *Record
	// LastUsed is when the session was last used, to the minute, derived from the
	// record's remaining idle time (no write per request); a record whose expiry is capped
	// by its absolute expiry shows a lower bound.
	LastUsed time.Time
}

// EventKind says what happened to a session (see Store.Watch).
type EventKind uint8

const (
	// EventEnded: the session ended (logout, back-channel logout, an admin's end).
	EventEnded EventKind = iota + 1
	// EventRefreshed: the session's record was saved with new tokens.
	EventRefreshed
	// EventResubscribed carries no id hash: the watch has (re)subscribed, and any
	// announcement made before this point may have been missed. Whoever keeps state that
	// events invalidate must drop it here.
	EventResubscribed
)

// Event is one announcement heard by Store.Watch.
type Event struct {
	Kind   EventKind
	IDHash string // "" for EventResubscribed
}

// Lock is one held lease on a session's refresh lock.
type Lock interface {
	// Renew extends the lease to lease from now; ErrLockLost if it is no longer ours.
	Renew(ctx context.Context, lease time.Duration) error
	// Release gives the lock up and wakes waiters; ErrLockLost if it was no longer ours.
	Release(ctx context.Context) error
}

// Record is what the BFF knows about one logged-in browser. It never leaves the
// server: the browser holds only the sealed session id.
type Record struct {
	Subject string `json:"sub"`
	// Provider names the configured identity provider that issued the session's tokens:
	// "" for the one provider of a configuration without a provider list (and for
	// records made before providers had names). Refresh, revocation and logout use it.
	Provider string `json:"idp,omitempty"`
	// SID is the IdP's session id (ID token "sid"), used by back-channel logout.
	SID          string    `json:"sid,omitempty"`
	AccessToken  string    `json:"at"`
	RefreshToken string    `json:"rt,omitempty"`
	IDToken      string    `json:"idt,omitempty"`
	TokenType    string    `json:"tt,omitempty"`
	AccessExpiry time.Time `json:"atExp"`
	// AccessLifetime is the access token's whole life when issued (0: unknown). With it the
	// refresher never refreshes a token younger than half its life, however large the skew.
	AccessLifetime time.Duration `json:"atLife,omitempty"`
	// Claims are the few ID-token claims /bff/user shows (name, email, …).
	Claims map[string]any `json:"claims,omitempty"`
	// Created is the login time; AbsoluteExpiry = Created + absolute timeout.
	Created        time.Time `json:"created"`
	AbsoluteExpiry time.Time `json:"absExp"`
	// Refreshed counts successful refreshes (observability, tests).
	Refreshed int `json:"refreshed,omitempty"`
	// ForcedRefreshAt is when an upstream 401 last made the BFF redeem the refresh token
	// (zero: never). It lives in the record, not in a replica's memory, so that the
	// forced-refresh cooldown holds across replicas.
	ForcedRefreshAt time.Time `json:"forcedAt,omitzero"`
	// RefreshFailures counts the consecutive refresh attempts that failed because the IdP
	// was unavailable; RefreshRetryAt is the earliest time of the next attempt (back-off).
	// A successful refresh clears both.
	RefreshFailures int       `json:"rfFails,omitempty"`
	RefreshRetryAt  time.Time `json:"rfRetry,omitzero"`
	// RefreshPendingSince and RefreshPendingOwner are the redemption mark: a refresher
	// writes them before it spends the refresh token at the IdP and clears them with the
	// new tokens. A record still marked means the token may already be spent (the save
	// failed, or the replica died after the IdP answered): no other replica redeems it
	// until the mark is older than the refresher's pending window (package refresh).
	// The owner is a random value of one attempt, never a secret.
	RefreshPendingSince time.Time `json:"rfPend,omitzero"`
	RefreshPendingOwner string    `json:"rfOwner,omitempty"`
	// LogoutHandle is this session's own random logout handle (NewLogoutHandle): the
	// value GET /bff/logout?sid=… must carry. It stands in for the CSRF header a link
	// cannot send, so it must be unguessable and known only to the session's own pages
	// (/bff/user hands it out); the IdP's sid is neither unguessable by contract nor
	// always issued. Records made before it existed have none: the IdP sid stands in.
	LogoutHandle string `json:"lh,omitempty"`
	// Handle is the session's public random name in the session list (GET /bff/sessions,
	// DELETE /bff/sessions/{handle}): NewSessionHandle, made at login, not derived from the
	// id; compared in constant time. Records made before it existed have none and cannot
	// be ended one by one (sign out everywhere still ends them).
	Handle string `json:"hd,omitempty"`
	// Device is the coarse description of the browser that logged in ("Firefox on Linux"),
	// derived at login from its User-Agent; never the raw header.
	Device string `json:"dev,omitempty"`
	// DPoPKey is the session's DPoP key pair (RFC 9449; a private JWK) when the tokens are
	// DPoP-bound: made at login, it proves every token request and upstream call of the
	// session, and lives and dies with the record (sealed at rest like the tokens).
	DPoPKey string `json:"dpop,omitempty"`
	// RouteTokens are the access tokens obtained for routes that name a resource (RFC 8707)
	// or a token exchange (RFC 8693), by RouteTokenKey. They are sealed with the record,
	// end with it (logout, expiry) and survive refreshes of the main token.
	RouteTokens map[string]RouteToken `json:"rtk,omitempty"`
}

// SubjectKey is the value the subject index keys a session by, and what DeleteBySubject
// takes: sub qualified by the provider that vouched for it, since two providers may issue
// the same sub to different people. Provider names cannot hold ':' (config), so the
// pair is unambiguous; the unnamed provider ("") keeps sub as is, which is also how
// records made before providers had names are indexed.
func SubjectKey(provider, sub string) string { return qualify(provider, sub) }

// SIDKey is SubjectKey for the IdP session id (the sid index; DeleteBySID and
// DeleteBySIDAndSubject take it): one provider's back-channel logout never reaches a
// session of another provider that happens to share the sid.
func SIDKey(provider, sid string) string { return qualify(provider, sid) }

func qualify(provider, value string) string {
	if provider == "" || value == "" {
		return value
	}
	return provider + ":" + value
}

// RouteToken is one route's access token: secret like AccessToken.
type RouteToken struct {
	AccessToken string        `json:"at"`
	TokenType   string        `json:"tt,omitempty"`
	Expiry      time.Time     `json:"exp"`
	Lifetime    time.Duration `json:"life,omitempty"`
}
