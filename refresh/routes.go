package refresh

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// RouteIssuer is what ForRoute needs of the IdP on top of TokenRefresher; *idp.Provider
// implements it. Config.IdP must implement it for routes with a token spec.
type RouteIssuer interface {
	RefreshFor(ctx context.Context, refreshToken, resource string, scopes []string) (*idp.Tokens, error)
	ExchangeToken(ctx context.Context, subjectToken, audience, scope, resource string) (*idp.Tokens, error)
}

// ErrRouteTokenRefused: the provider refused the token a route asks for (its resource,
// audience or scope), or the IdP cannot issue route tokens at all. The session is kept;
// the route cannot be served with any other token.
var ErrRouteTokenRefused = errors.New("refresh: the provider refused the route's token")

func routeRefused(cause error) *Error { return &Error{Kind: ErrRouteTokenRefused, Cause: cause} }

// ForRoute returns the access token of session id for a route's spec: a token for a
// resource (RFC 8707, obtained with the refresh token) or an exchanged one (RFC 8693),
// kept in the record's RouteTokens and renewed within the skew like the main token. A
// still-valid token never waits; an expired or missing one waits at most Config.Wait.
// With force, the token the route last got was rejected upstream: it is renewed unless the
// record already holds another, and for a resource token only outside the forced-refresh
// cooldown (every renewal spends the refresh token).
//
// All of a session's token work runs under its one refresh lock, and a resource grant
// carries the same redemption mark as a refresh: a rotated refresh token is never
// redeemed twice, in this process or across replicas. Errors: as Fresh, plus
// ErrRouteTokenRefused.
func (r *Refresher) ForRoute(ctx context.Context, id string, rec *session.Record, spec *credential.TokenSpec, force bool) (session.RouteToken, error) {
	if spec.Exchange != nil {
		// The subject token must be valid first; its refresh runs as for any request.
		main, err := r.Fresh(ctx, id, rec, false)
		if err != nil {
			return session.RouteToken{}, err
		}
		rec = main
	} else if u := r.unsaved.get(session.IDHash(id)); u != nil {
		rec = u // this replica's refresh not saved yet: the store's refresh token is spent
	}
	key := spec.Key()
	cur, ok := rec.RouteTokens[key]
	if !force && ok && r.routeValid(cur, r.routeSkew(cur)) {
		return cur, nil
	}
	if err := r.routeHold(rec, spec, force); err != nil {
		return r.routeFallback(cur, ok && !force, err)
	}
	ch := r.startRoute(ctx, id, spec, cur.AccessToken, force)
	if !force && ok && r.routeValid(cur, 0) {
		return cur, nil // renewed behind the request
	}
	return r.awaitRoute(ctx, ch, cur, ok && !force)
}

// routeHold is why a route token must not be obtained now: the session's back-off (a
// resource grant spends the refresh token like a refresh), or the forced-refresh cooldown.
func (r *Refresher) routeHold(rec *session.Record, spec *credential.TokenSpec, force bool) error {
	if spec.Exchange == nil {
		return r.holdRecord(rec, force)
	}
	now := r.cfg.Now()
	if force && !rec.ForcedRefreshAt.IsZero() && now.Sub(rec.ForcedRefreshAt) < r.cfg.ForcedCooldown {
		r.cfg.Observe(OutcomeCooldown)
		return ErrForcedRefreshCooldown
	}
	return nil
}

// awaitRoute waits for the route's shared work, at most Config.Wait.
func (r *Refresher) awaitRoute(ctx context.Context, ch <-chan routeResult, cur session.RouteToken, usable bool) (session.RouteToken, error) {
	wait := time.NewTimer(r.cfg.Wait)
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return session.RouteToken{}, fmt.Errorf("refresh: waiting for the route's token: %w", ctx.Err())
	case <-wait.C:
		return session.RouteToken{}, idpUnavailable(time.Second, fmt.Errorf("refresh: route token still pending after %s", r.cfg.Wait))
	case res := <-ch:
		if res.err != nil {
			return r.routeFallback(cur, usable, res.err)
		}
		return res.tok, nil
	}
}

// routeFallback keeps serving a still-valid route token while the IdP or the store is down.
func (r *Refresher) routeFallback(cur session.RouteToken, usable bool, err error) (session.RouteToken, error) {
	if usable && (errors.Is(err, ErrIdPUnavailable) || errors.Is(err, ErrStoreUnavailable)) && r.routeValid(cur, 0) {
		return cur, nil
	}
	return session.RouteToken{}, err
}

func (r *Refresher) routeValid(t session.RouteToken, margin time.Duration) bool {
	return t.AccessToken != "" && t.Expiry.After(r.cfg.Now().Add(margin))
}

// routeSkew is skew for a route token: the configured skew, at most half its life.
func (r *Refresher) routeSkew(t session.RouteToken) time.Duration {
	if half := t.Lifetime / 2; half > 0 && half < r.cfg.Skew {
		return half
	}
	return r.cfg.Skew
}

type routeResult struct {
	tok session.RouteToken
	err error
}

// startRoute joins or starts the shared work for (session, route key), detached like start.
func (r *Refresher) startRoute(ctx context.Context, id string, spec *credential.TokenSpec, stale string, force bool) <-chan routeResult {
	r.inflight.add()
	ch := r.group.DoChan(session.IDHash(id)+"\x00"+spec.Key(), func() (any, error) {
		work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
		defer cancel()
		return r.routeOnce(work, id, spec, stale, force)
	})
	out := make(chan routeResult, 1)
	go func() {
		res := <-ch
		r.inflight.done()
		if res.Shared {
			r.cfg.Observe(OutcomeCoalesced)
		}
		tok, _ := res.Val.(session.RouteToken)
		out <- routeResult{tok: tok, err: res.Err}
	}()
	return out
}

// routeOnce takes the session's refresh lock (waiting for another holder, then taking the
// token it got if it did) and obtains the route's token under it.
func (r *Refresher) routeOnce(ctx context.Context, id string, spec *credential.TokenSpec, stale string, force bool) (session.RouteToken, error) {
	key := spec.Key()
	for {
		lock, err := r.cfg.Store.Lock(ctx, id, r.cfg.Lease)
		switch {
		case err == nil:
			return r.routeLocked(ctx, id, spec, stale, force, lock)
		case errors.Is(err, session.ErrLockHeld):
			if err := r.waitUnlock(ctx, id); err != nil {
				return session.RouteToken{}, err
			}
			rec, err := r.reread(ctx, id)
			if err != nil {
				return session.RouteToken{}, err
			}
			if t, ok := r.routeDoneMeanwhile(rec, key, stale); ok {
				return t, nil
			}
		default:
			return session.RouteToken{}, storeOrContext("taking the refresh lock", err)
		}
	}
}

// routeDoneMeanwhile returns the record's token for key when another holder replaced stale.
func (r *Refresher) routeDoneMeanwhile(rec *session.Record, key, stale string) (session.RouteToken, bool) {
	t, ok := rec.RouteTokens[key]
	return t, ok && t.AccessToken != stale && r.routeValid(t, 0)
}

func (r *Refresher) routeLocked(ctx context.Context, id string, spec *credential.TokenSpec, stale string, force bool, lock session.Lock) (session.RouteToken, error) {
	var tok session.RouteToken
	err := r.locked(ctx, id, lock, func(rec *session.Record) (*pendingSave, error) {
		if t, ok := r.routeDoneMeanwhile(rec, spec.Key(), stale); ok {
			tok = t
			return nil, nil
		}
		var err error
		if spec.Exchange != nil {
			tok, err = r.exchangeLocked(ctx, id, rec, spec, force)
			return nil, err
		}
		var save *pendingSave
		tok, save, err = r.redeemFor(ctx, id, rec, spec, force)
		return save, err
	})
	return tok, err
}

// withRouteToken is rec with RouteTokens[key] = t, the map copied: records are shared
// between goroutines and never changed in place.
func withRouteToken(rec *session.Record, key string, toks *idp.Tokens) *session.Record {
	next := *rec
	next.RouteTokens = maps.Clone(rec.RouteTokens)
	if next.RouteTokens == nil {
		next.RouteTokens = map[string]session.RouteToken{}
	}
	next.RouteTokens[key] = session.RouteToken{AccessToken: toks.AccessToken, TokenType: toks.TokenType,
		Expiry: toks.Expiry, Lifetime: toks.Lifetime}
	return &next
}

func (r *Refresher) issuer(ctx context.Context, id string, rec *session.Record) (RouteIssuer, error) {
	p, err := r.idpOf(ctx, id, rec)
	if err != nil {
		return nil, err
	}
	ri, ok := p.(RouteIssuer)
	if !ok {
		return nil, routeRefused(errors.New("refresh: the IdP client cannot issue route tokens"))
	}
	return ri, nil
}
