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
	DefaultSkew    = 30 * time.Second
	DefaultLease   = 15 * time.Second
	DefaultTimeout = 30 * time.Second
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

// Config configures a Refresher. Store and IdP are required.
type Config struct {
	// Store is the session store, possibly the replica's read cache (session.Cached): New
	// reads it through session.Uncached, because the re-read under the lock must see the
	// store itself, or a replica could redeem a refresh token another replica already
	// rotated.
	Store session.Store
	IdP   TokenRefresher
	// Skew: a token expiring within Skew is refreshed before use, or within half its
	// lifetime when that is shorter (see Refresher.skew). Default 30s.
	Skew time.Duration
	// Lease of the cross-replica lock; renewed every Lease/3 while the IdP call runs.
	Lease time.Duration
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
	// was ended while the IdP call ran, its new tokens are dropped), and of every
	// refresh not attempted: "cooldown" (a forced refresh declined), "backoff" (the IdP
	// failed recently; no call made).
	Observe func(outcome string)
}

// Refresher hands out fresh access tokens. It is safe for concurrent use; one Refresher
// serves a whole replica.
type Refresher struct {
	cfg   Config
	group singleflight.Group
}

// New returns a Refresher with cfg's defaults filled in.
func New(cfg Config) (*Refresher, error) {
	if cfg.Store == nil || cfg.IdP == nil {
		return nil, errors.New("refresh: Store and IdP are required")
	}
	cfg.Store = session.Uncached(cfg.Store)
	if cfg.Skew <= 0 {
		cfg.Skew = DefaultSkew
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
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
	return &Refresher{cfg: cfg}, nil
}

// Fresh returns a record of session id whose access token is valid for longer than the
// skew, refreshing it if needed. rec is the record the caller read. With force, the token in
// rec is known to be rejected (an upstream 401): it is refreshed unless the session already
// holds another token, or a forced refresh of the session happened within the cooldown
// (then the error is ErrForcedRefreshCooldown).
//
// Errors are *Error values of kind ErrSessionEnded (the session is gone), ErrIdPUnavailable
// (the session is kept; RetryAfter set during the back-off) or ErrStoreUnavailable;
// ErrForcedRefreshCooldown; or the caller's context error.
func (r *Refresher) Fresh(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error) {
	if !force && r.valid(rec, r.skew(rec)) {
		return rec, nil
	}
	if err := r.hold(rec, force); err != nil {
		if force {
			return nil, err
		}
		return r.fallback(rec, err)
	}
	stale := rec.AccessToken
	key := session.IDHash(id)
	ch := r.group.DoChan(key, func() (any, error) {
		// Detached: the first caller leaving must not abort the refresh the others wait for.
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
		defer cancel()
		return r.refreshOnce(work, id, stale, force)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("refresh: waiting for the shared refresh: %w", ctx.Err())
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

// hold returns why rec's refresh token must not be redeemed now, or nil: a forced refresh
// within the cooldown, or the back-off after the IdP failed. Both are read from the session
// record, which every replica shares; no I/O.
func (r *Refresher) hold(rec *session.Record, force bool) error {
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
			if err := r.cfg.Store.WaitUnlock(ctx, id); err != nil {
				return nil, storeOrContext("waiting for another replica's refresh", err)
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
	stop := r.renew(ctx, lock)
	defer func() {
		stop()
		// Release on a fresh context: ctx may have timed out, and waiters deserve the wake-up.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := lock.Release(rctx); err != nil && !errors.Is(err, session.ErrLockLost) {
			r.cfg.Logger.Warn("refresh lock release failed", "err", err)
		}
	}()
	rec, err := r.reread(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.doneMeanwhile(rec, stale) {
		return rec, nil
	}
	// The caller's copy may predate another replica's failed attempt: the back-off is
	// checked again on the record read under the lock.
	if err := r.backingOff(rec, r.cfg.Now()); err != nil {
		return nil, err
	}
	return r.redeem(ctx, id, rec, force)
}

// renew keeps the lease alive while the IdP call runs; the returned func stops it.
func (r *Refresher) renew(ctx context.Context, lock session.Lock) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(r.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := lock.Renew(ctx, r.cfg.Lease); err != nil {
					r.cfg.Logger.Warn("refresh lock renewal failed", "err", err)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// redeem spends the refresh token at the IdP and stores the result.
func (r *Refresher) redeem(ctx context.Context, id string, rec *session.Record, force bool) (*session.Record, error) {
	if rec.RefreshToken == "" {
		if r.valid(rec, 0) {
			return rec, nil
		}
		r.end(ctx, id)
		return nil, sessionEnded(errors.New("refresh: the access token expired and there is no refresh token"))
	}
	toks, ident, err := r.cfg.IdP.Refresh(ctx, rec.RefreshToken)
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
	next.Refreshed++
	next.RefreshFailures, next.RefreshRetryAt = 0, time.Time{}
	if force {
		next.ForcedRefreshAt = r.cfg.Now()
	}
	// Update, not Save: a logout that ended the session while the IdP call ran must not
	// be undone by writing the refreshed record back.
	if err := r.cfg.Store.Update(ctx, id, &next); errors.Is(err, session.ErrNotFound) {
		r.cfg.Observe(OutcomeEnded)
		return nil, sessionEnded(err)
	} else if err != nil {
		r.cfg.Observe(OutcomeStoreError)
		return nil, storeOrContext("saving the refreshed session", err)
	}
	r.cfg.Observe(OutcomeOK)
	return &next, nil
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
