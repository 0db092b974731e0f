package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// Defaults of Config.
const (
	DefaultSkew = 30 * time.Second
	// DefaultLease is short so that a lock nobody renews (its holder died, or its SET ran
	// on the server after the client had given up on it during a stall) is gone within
	// seconds; a live holder renews it every Lease/3.
	DefaultLease   = 2 * time.Second
	DefaultTimeout = 30 * time.Second
	// DefaultPoll: a waiter for another replica's lock re-checks the lock and the record
	// at least this often, whatever the store's release notification does.
	DefaultPoll = 500 * time.Millisecond
	// DefaultWait bounds how long a request whose access token has expired waits for a
	// refresh; then it gets 503 with Retry-After.
	DefaultWait = 10 * time.Second
	// DefaultPendingWindow: how long refreshed tokens whose save failed are kept in
	// process and the save retried, and how long another replica leaves a marked record's
	// refresh token alone (see Config.PendingWindow).
	DefaultPendingWindow = 10 * time.Second
	// DefaultForcedCooldown: after an upstream 401, a session's refresh token is redeemed
	// at most once per this long (see Config.ForcedCooldown).
	DefaultForcedCooldown = 30 * time.Second
)

// Back-off after the IdP failed a refresh (network error, 5xx, timeout): the n-th
// consecutive failure puts the session's next attempt BackoffBase·2^(n-1) later, capped at
// BackoffMax (1 s, 2 s, 4 s … 60 s), drawn at random from the upper half of that span so
// that sessions that failed together do not all come back in the same second.
const (
	BackoffBase = time.Second
	BackoffMax  = 60 * time.Second
)

// TokenRefresher is the one IdP call the Refresher needs; *idp.Provider implements it.
type TokenRefresher interface {
	Refresh(ctx context.Context, refreshToken string) (*idp.Tokens, *idp.Identity, error)
}

// Config configures a Refresher. Store and IdP (or IdPs) are required.
type Config struct {
	// Store is the session store, possibly the replica's read cache (session.Cached): New
	// reads it through session.Uncached, because the re-read under the lock must see the
	// store itself, or a replica could redeem a refresh token another replica already
	// rotated.
	Store session.Store
	// IdP refreshes the sessions of the one provider of a configuration without
	// oidc.providers (Record.Provider ""). IdPs, when set, is used instead: the provider
	// of each record by its name (Record.Provider); a record whose provider is not in it
	// ends (its refresh token belongs to a provider no longer configured).
	IdP  TokenRefresher
	IdPs map[string]TokenRefresher
	// DefaultIssuer, set with IdPs, is the issuer of the provider IdPs[""] stands for: a
	// record that names no provider (made before oidc.providers existed) is refreshed there
	// only when its ID token names this issuer, else it ends (the operator made another
	// provider the default: its refresh token must not be sent there).
	DefaultIssuer string
	// Skew: a token expiring within Skew is refreshed before use, or within half its
	// lifetime when that is shorter (see Refresher.skew). Default 30s.
	Skew time.Duration
	// Lease of the cross-replica lock; renewed every Lease/3 while the IdP call runs and
	// while a failed save is retried. Default DefaultLease.
	Lease time.Duration
	// Poll: a waiter re-checks another holder's lock at least this often. Default
	// DefaultPoll.
	Poll time.Duration
	// Wait bounds a request's wait for a refresh when its access token has expired (a
	// still-valid token never waits). Default DefaultWait.
	Wait time.Duration
	// PendingWindow: when the IdP answered but the store did not take the new tokens, they
	// are kept in this process and the save retried for this long (counted from the
	// redemption mark); and a record marked less than this long ago is not redeemed by
	// anyone else (its refresh token may be spent). Default DefaultPendingWindow.
	PendingWindow time.Duration
	// Timeout bounds the shared refresh work (lock wait excluded). Default 30s.
	Timeout time.Duration
	// ForcedCooldown: a forced refresh (after an upstream 401) redeems the refresh token
	// only when the session's last forced refresh (Record.ForcedRefreshAt) is at least
	// this old, so an upstream that rejects every token cannot turn every API call into a
	// grant at the IdP. Default DefaultForcedCooldown.
	ForcedCooldown time.Duration
	// Rand returns a number in [0, 1) for the back-off jitter. Default math/rand/v2.Float64.
	Rand func() float64
	// Now is the clock. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Observe, when set, is told the outcome of every refresh attempt
	// ("ok", "invalid_grant", "transient", "coalesced", "store_error", "ended": the session
	// was ended while the IdP call ran, its new tokens are dropped; "save_pending": the
	// IdP answered but the store did not take the new tokens, they are served from memory
	// and the save retried, ending in "save_late" (saved) or "save_lost" (the pending
	// window passed)), and of every refresh not attempted: "cooldown" (a forced refresh
	// declined), "backoff" (the IdP failed recently; no call made), "pending_elsewhere"
	// (the record carries another attempt's recent redemption mark; no call made).
	Observe func(outcome string)
}

// Refresher hands out fresh access tokens. It is safe for concurrent use; one Refresher
// serves a whole replica.
type Refresher struct {
	cfg      Config
	group    singleflight.Group
	unsaved  unsavedTokens // refreshed records whose save is being retried
	inflight inflight      // refreshes and save retries running, for Drain
}

// New returns a Refresher with cfg's defaults filled in.
func New(cfg Config) (*Refresher, error) {
	if cfg.Store == nil || cfg.IdP == nil && len(cfg.IdPs) == 0 {
		return nil, errors.New("refresh: Store and IdP (or IdPs) are required")
	}
	if len(cfg.IdPs) == 0 {
		cfg.IdPs = map[string]TokenRefresher{"": cfg.IdP}
	}
	cfg.Store = session.Uncached(cfg.Store)
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.PendingWindow <= 0 {
		cfg.PendingWindow = DefaultPendingWindow
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ForcedCooldown <= 0 {
		cfg.ForcedCooldown = DefaultForcedCooldown
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string) {}
	}
	return &Refresher{cfg: cfg, unsaved: unsavedTokens{m: map[string]*session.Record{}}}, nil
}

// Fresh returns a record of session id whose access token is valid, refreshing it if it
// expires within the skew. A token that is still valid is returned at once, the refresh
// running behind the request; an expired one waits for the refresh, at most Config.Wait.
// rec is the record the caller read. With force, the token in rec is known to be rejected
// (an upstream 401): it is refreshed unless the session already holds another token, or a
// forced refresh of the session happened within the cooldown (then the error is
// ErrForcedRefreshCooldown).
//
// Errors are *Error values of kind ErrSessionEnded (the session is gone), ErrIdPUnavailable
// (the session is kept; RetryAfter set during the back-off, and 1 s when the wait ran
// out) or ErrStoreUnavailable (RetryAfter set while another attempt's redemption mark
// holds the refresh token back); ErrForcedRefreshCooldown; or the caller's context error.
func (r *Refresher) Fresh(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error) {
	key := session.IDHash(id)
	if u := r.unsaved.get(key); u != nil {
		// This replica refreshed the session but the store has not taken the new tokens
		// yet: the store's copy holds a spent refresh token; serve the new ones.
		if force && u.AccessToken == rec.AccessToken {
			r.cfg.Observe(OutcomeCooldown) // the new token was rejected; it is the newest there is
			return nil, ErrForcedRefreshCooldown
		}
		rec, force = u, false
	}
	if !force && r.valid(rec, r.skew(rec)) {
		return rec, nil
	}
	if err := r.holdRecord(rec, force); err != nil {
		if force {
			return nil, err
		}
		return r.fallback(rec, err)
	}
	ch := r.start(ctx, id, key, rec.AccessToken, force)
	if !force && r.valid(rec, 0) {
		// Still valid, only within the skew: the request goes on with it at once and the
		// refresh runs behind it (the next request gets the new token).
		return rec, nil
	}
	wait := time.NewTimer(r.cfg.Wait)
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("refresh: waiting for the shared refresh: %w", ctx.Err())
	case <-wait.C:
		// The refresh goes on (detached); this request stops waiting for it.
		return nil, idpUnavailable(time.Second, fmt.Errorf("refresh: still pending after %s", r.cfg.Wait))
	case res := <-ch:
		if res.Shared {
			r.cfg.Observe(OutcomeCoalesced)
		}
		if res.Err != nil && force {
			// The token in rec was just rejected: falling back to it would only have the
			// upstream reject it again. The caller passes the upstream's 401 on.
			return nil, res.Err
		}
		if res.Err != nil {
			return r.fallback(rec, res.Err)
		}
		return res.Val.(*session.Record), nil
	}
}

// start joins or starts the session's shared refresh. It runs detached: the first caller
// leaving must not abort the refresh the others wait for, and a caller with a still-valid
// token does not wait for it at all.
func (r *Refresher) start(ctx context.Context, id, key, stale string, force bool) <-chan singleflight.Result {
	r.inflight.add() // before the flight's goroutine starts, so that Drain cannot miss it
	ch := r.group.DoChan(key, func() (any, error) {
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
		defer cancel()
		return r.refreshOnce(work, id, stale, force)
	})
	out := make(chan singleflight.Result, 1)
	go func() {
		res := <-ch
		r.inflight.done()
		out <- res
	}()
	return out
}

// holdRecord returns why rec's refresh token must not be redeemed now, or nil: a forced refresh
// within the cooldown, or the back-off after the IdP failed. Both are read from the session
// record, which every replica shares; no I/O.
func (r *Refresher) holdRecord(rec *session.Record, force bool) error {
	now := r.cfg.Now()
	if force && !rec.ForcedRefreshAt.IsZero() && now.Sub(rec.ForcedRefreshAt) < r.cfg.ForcedCooldown {
		r.cfg.Observe(OutcomeCooldown)
		return ErrForcedRefreshCooldown
	}
	return r.backingOff(rec, now)
}

// backingOff is an ErrIdPUnavailable error, with RetryAfter, while rec is in its
// back-off after IdP failures; nil otherwise.
func (r *Refresher) backingOff(rec *session.Record, now time.Time) error {
	wait := rec.RefreshRetryAt.Sub(now)
	if wait <= 0 {
		return nil
	}
	r.cfg.Observe(OutcomeBackoff)
	return idpUnavailable(wait, fmt.Errorf("refresh: backing off after %d failed attempts", rec.RefreshFailures))
}

// backoff is the delay before the next attempt after the n-th consecutive IdP failure:
// BackoffBase·2^(n-1) capped at BackoffMax, drawn from the upper half of that span.
func (r *Refresher) backoff(n int) time.Duration {
	span := BackoffMax
	if n >= 1 && n <= 7 { // 2^6 s already exceeds BackoffMax; larger shifts would overflow
		span = min(BackoffBase<<(n-1), BackoffMax)
	}
	half := span / 2
	return half + time.Duration(r.cfg.Rand()*float64(span-half))
}

// fallback keeps serving a still-valid token while the IdP is down (docs/operations.md), and
// likewise while the store cannot take or watch the refresh lock: a refresh that could
// not happen must not fail a request whose token the upstream still accepts.
func (r *Refresher) fallback(rec *session.Record, err error) (*session.Record, error) {
	if (errors.Is(err, ErrIdPUnavailable) || errors.Is(err, ErrStoreUnavailable)) && r.valid(rec, 0) {
		return rec, nil
	}
	return nil, err
}

// skew is the configured skew, capped at half the token's life: a provider issuing tokens
// shorter than the skew would otherwise have every request refresh (a refresh storm, each
// one a grant at the IdP and a rotation of the refresh token).
func (r *Refresher) skew(rec *session.Record) time.Duration {
	if half := rec.AccessLifetime / 2; half > 0 && half < r.cfg.Skew {
		return half
	}
	return r.cfg.Skew
}

func (r *Refresher) valid(rec *session.Record, margin time.Duration) bool {
	return rec.AccessToken != "" && rec.AccessExpiry.After(r.cfg.Now().Add(margin))
}

// refreshOnce takes the cross-replica lock (waiting for another replica's holder) and
// refreshes under it unless someone else already did. ctx is the shared work's context;
// each caller waits on its own in Fresh.
func (r *Refresher) refreshOnce(ctx context.Context, id, stale string, force bool) (*session.Record, error) {
	for {
		lock, err := r.cfg.Store.Lock(ctx, id, r.cfg.Lease)
		switch {
		case err == nil:
			return r.refreshLocked(ctx, id, stale, force, lock)
		case errors.Is(err, session.ErrLockHeld):
			if err := r.waitUnlock(ctx, id); err != nil {
				return nil, err
			}
			rec, err := r.reread(ctx, id)
			if err != nil {
				return nil, err
			}
			if r.doneMeanwhile(rec, stale) {
				return rec, nil
			}
			// The holder failed or its lease ran out: try to take the lock ourselves.
		default:
			return nil, storeOrContext("taking the refresh lock", err)
		}
	}
}

// waitUnlock waits for the holder's release, at most Poll: a lease can also just run out
// (a dead holder, an orphaned lock), which nothing announces, and the record may have been
// refreshed meanwhile. Only ctx ending or a store failure is an error.
func (r *Refresher) waitUnlock(ctx context.Context, id string) error {
	pctx, cancel := context.WithTimeout(ctx, r.cfg.Poll)
	defer cancel()
	err := r.cfg.Store.WaitUnlock(pctx, id)
	if err != nil && pctx.Err() != nil && ctx.Err() == nil {
		return nil // the poll interval ran out: re-check
	}
	if err != nil {
		return storeOrContext("waiting for another replica's refresh", err)
	}
	return nil
}

// doneMeanwhile reports whether another refresher replaced the stale token.
func (r *Refresher) doneMeanwhile(rec *session.Record, stale string) bool {
	return rec.AccessToken != stale && r.valid(rec, 0)
}

func (r *Refresher) reread(ctx context.Context, id string) (*session.Record, error) {
	rec, err := r.cfg.Store.Get(ctx, id)
	if errors.Is(err, session.ErrNotFound) {
		return nil, sessionEnded(err)
	}
	if err != nil {
		return nil, storeOrContext("re-reading the session", err)
	}
	return rec, nil
}

func (r *Refresher) refreshLocked(ctx context.Context, id, stale string, force bool, lock session.Lock) (*session.Record, error) {
	var next *session.Record
	err := r.locked(ctx, id, lock, func(rec *session.Record) (*pendingSave, error) {
		if r.doneMeanwhile(rec, stale) {
			next = rec
			return nil, nil
		}
		// The caller's copy may predate another replica's failed attempt or forced refresh:
		// the back-off and the cooldown are checked again on the record read under the lock.
		if err := r.heldBack(rec, force); err != nil {
			return nil, err
		}
		var save *pendingSave
		var err error
		next, save, err = r.redeem(ctx, id, rec, force)
		return save, err
	})
	return next, err
}

// locked runs work on the record read under lock, keeping the lease renewed meanwhile.
// The lock is released when work returns, unless work returns a save to retry: then the
// lock goes with the retry (saveLater), so that no one else redeems meanwhile.
func (r *Refresher) locked(ctx context.Context, id string, lock session.Lock, work func(rec *session.Record) (*pendingSave, error)) error {
	held := r.keep(ctx, lock)
	handedOver := false
	defer func() {
		if !handedOver {
			held.release(ctx, r.cfg.Logger.Warn)
		}
	}()
	rec, err := r.reread(ctx, id)
	if err != nil {
		return err
	}
	save, err := work(rec)
	if save != nil {
		handedOver = true
		r.saveLater(id, save, held)
	}
	return err
}

// heldBack is hold for the record read under the lock, plus the redemption mark of
// another attempt (see pendingElsewhere).
func (r *Refresher) heldBack(rec *session.Record, force bool) error {
	if err := r.holdRecord(rec, force); err != nil {
		return err
	}
	return r.pendingElsewhere(rec)
}

// redeem spends the refresh token at the IdP and stores the result. The record is marked
// first (mark): a token the IdP may have rotated is never redeemed by anyone else while
// its new tokens may still reach the store. pending: the IdP answered but the store did not
// take the new tokens; save says what the caller must retry (saveLater).
func (r *Refresher) redeem(ctx context.Context, id string, rec *session.Record, force bool) (next *session.Record, save *pendingSave, err error) {
	if rec.RefreshToken == "" {
		if r.valid(rec, 0) {
			return rec, nil, nil
		}
		r.end(ctx, id)
		return nil, nil, sessionEnded(errors.New("refresh: the access token expired and there is no refresh token"))
	}
	marked, err := r.mark(ctx, id, rec)
	if err != nil {
		return nil, nil, err
	}
	if next, err = r.exchange(ctx, id, marked, force); err != nil {
		return nil, nil, err
	}
	if pending, err := r.store(ctx, id, next); pending || err != nil {
		if err != nil {
			return nil, nil, err
		}
		return next, &pendingSave{next: next, since: marked.RefreshPendingSince, owner: marked.RefreshPendingOwner}, nil
	}
	return next, nil, nil
}

// exchange calls the IdP with rec's refresh token and returns the record with the new
// tokens and the mark cleared; or ends the session (refused), or records the back-off
// (IdP unavailable).
func (r *Refresher) exchange(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error) {
	p, err := r.idpOf(ctx, id, rec)
	if err != nil {
		return nil, err
	}
	toks, ident, err := p.Refresh(ctx, rec.RefreshToken)
	if err == nil && ident != nil && ident.Subject != rec.Subject {
		// OIDC Core §12.2: a refreshed ID token must name the same subject.
		err = fmt.Errorf("refresh: ID token for another subject: %w", idp.ErrInvalidToken)
	}
	switch {
	case errors.Is(err, idp.ErrInvalidGrant), errors.Is(err, idp.ErrInvalidToken):
		r.cfg.Observe(OutcomeInvalidGrant)
		r.end(ctx, id)
		return nil, sessionEnded(err)
	case err != nil:
		r.cfg.Observe(OutcomeTransient)
		return nil, r.failed(ctx, id, rec.RefreshFailures+1, err)
	}
	next := *rec
	next.AccessToken = toks.AccessToken
	next.AccessExpiry, next.AccessLifetime = toks.Expiry, toks.Lifetime
	if toks.TokenType != "" {
		next.TokenType = toks.TokenType
	}
	if toks.RefreshToken != "" {
		next.RefreshToken = toks.RefreshToken
	}
	if toks.IDToken != "" {
		next.IDToken = toks.IDToken
	}
	// The UserInfo claims (oidc.userInfo) over those; a failed fetch fails no refresh.
	next.Claims = idp.WithUserInfo(ctx, p, toks, rec.Subject, currentClaims(rec.Claims, ident))
	next.Refreshed++
	next.RefreshFailures, next.RefreshRetryAt = 0, time.Time{}
	next.RefreshPendingSince, next.RefreshPendingOwner = time.Time{}, ""
	if force {
		next.ForcedRefreshAt = r.cfg.Now()
	}
	return &next, nil
}

// currentClaims is what /bff/user shows after a refresh: the login's profile claims with
// those a refreshed (and verified, same-subject) ID token carries laid over them (see
// idp.MergeClaims: a claim the new token leaves out is kept, as many providers issue lean
// ID tokens on refresh).
func currentClaims(old map[string]any, ident *idp.Identity) map[string]any {
	if ident == nil {
		return old
	}
	return idp.MergeClaims(old, ident.Claims)
}

// store saves the refreshed record. Update, not Save: a logout that ended the session while
// the IdP call ran must not be undone by writing the refreshed record back. A failed save
// is pending, not lost: the new tokens are the only ones the IdP still honours.
func (r *Refresher) store(ctx context.Context, id string, next *session.Record) (pending bool, err error) {
	err = r.cfg.Store.Update(ctx, id, next)
	switch {
	case errors.Is(err, session.ErrNotFound):
		r.cfg.Observe(OutcomeEnded)
		return false, sessionEnded(err)
	case err != nil:
		r.cfg.Observe(OutcomeSavePending)
		r.cfg.Logger.Warn("saving the refreshed session failed; keeping its tokens in memory and retrying", "err", err)
		return true, nil
	}
	r.cfg.Observe(OutcomeOK)
	r.announce(ctx, id)
	return false, nil
}

// announce tells every replica that id's record holds new tokens (their caches drop
// it, its pages hear of it). Best effort: the record is saved, and a replica that
// missed the announcement still serves the old access token until it expires.
func (r *Refresher) announce(ctx context.Context, id string) {
	if err := r.cfg.Store.PublishRefreshed(ctx, []string{session.IDHash(id)}); err != nil {
		r.cfg.Logger.Warn("announcing a refreshed session to the other replicas failed", "err", err)
	}
}

// failed records the n-th consecutive IdP failure and the back-off it earns in the
// session record, where every replica sees it, and returns the ErrIdPUnavailable error.
// It re-reads the record first: the IdP call may have taken long, and a session ended
// meanwhile (logout) must not be written back.
func (r *Refresher) failed(ctx context.Context, id string, n int, cause error) error {
	delay := r.backoff(n)
	rec, err := r.cfg.Store.Get(ctx, id)
	if err == nil {
		next := *rec
		next.RefreshFailures, next.RefreshRetryAt = n, r.cfg.Now().Add(delay)
		// The IdP did not answer with tokens: the mark is cleared, the back-off governs
		// the next attempt.
		next.RefreshPendingSince, next.RefreshPendingOwner = time.Time{}, ""
		err = r.cfg.Store.Update(ctx, id, &next)
	}
	if err != nil && !errors.Is(err, session.ErrNotFound) {
		// The next request will call the IdP again: no worse than without a back-off.
		r.cfg.Logger.Warn("recording the refresh back-off failed", "err", err)
	}
	if errors.Is(cause, idp.ErrMisconfigured) {
		// No back-off cures a refused client: say so loudly, and name the settings (the
		// cause's text does) to whoever reads the logs. The error still matches
		// idp.ErrMisconfigured, so the edge can say "misconfigured" too.
		r.cfg.Logger.Error("refresh refused: the BFF is misconfigured", "err", cause.Error())
	}
	return idpUnavailable(delay, cause)
}

func (r *Refresher) end(ctx context.Context, id string) {
	if err := r.cfg.Store.Delete(ctx, id); err != nil {
		r.cfg.Logger.Warn("deleting an expired session failed", "err", err)
	}
}

// storeOrContext maps a store failure to ErrStoreUnavailable, keeping context errors as
// they are.
func storeOrContext(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if !errors.Is(err, session.ErrUnavailable) {
			return fmt.Errorf("refresh: %s: %w", what, err)
		}
	}
	return storeUnavailable(fmt.Errorf("refresh: %s: %w", what, err))
}

// idpOf returns the provider that issued rec's tokens (a map lookup: no allocation on
// the hot path). A record of a provider no longer configured ends: its refresh token
// cannot be redeemed anywhere else, and must not be sent to another provider.
func (r *Refresher) idpOf(ctx context.Context, id string, rec *session.Record) (TokenRefresher, error) {
	if p, ok := r.cfg.IdPs[rec.Provider]; ok && r.ownProvider(rec) {
		return p, nil
	}
	r.cfg.Logger.Warn("session ended: its provider is no longer configured, or did not issue its tokens", "provider", rec.Provider)
	r.end(ctx, id)
	return nil, sessionEnded(ErrUnknownProvider)
}

// ownProvider: a record that names no provider is the default's only when its ID token
// names the default's issuer (Config.DefaultIssuer); a named one is its provider's.
func (r *Refresher) ownProvider(rec *session.Record) bool {
	return rec.Provider != "" || r.cfg.DefaultIssuer == "" || idp.StoredIDTokenOf(rec.IDToken, r.cfg.DefaultIssuer)
}

// ErrUnknownProvider: the session's provider (Record.Provider) is not configured (any more).
var ErrUnknownProvider = errors.New("refresh: the session's identity provider is not configured")
