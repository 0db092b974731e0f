package refresh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenward/bff/credential"
	"github.com/tokenward/bff/idp"
	"github.com/tokenward/bff/session"
)

// redeemFor is redeem for a resource token: it spends the refresh token (marked first,
// exactly as a refresh) and stores the resource's token with the rotated refresh token.
// The main access token is left as it is.
func (r *Refresher) redeemFor(ctx context.Context, id string, rec *session.Record, spec *credential.TokenSpec, force bool) (session.RouteToken, *pendingSave, error) {
	if err := r.heldBack(rec, force); err != nil {
		return session.RouteToken{}, nil, err
	}
	if rec.RefreshToken == "" {
		return session.RouteToken{}, nil, routeRefused(errors.New("refresh: the session has no refresh token to obtain a resource token with"))
	}
	ri, err := r.issuer(ctx, id, rec)
	if err != nil {
		return session.RouteToken{}, nil, err
	}
	marked, err := r.mark(ctx, id, rec)
	if err != nil {
		return session.RouteToken{}, nil, err
	}
	toks, err := ri.RefreshFor(ctx, marked.RefreshToken, spec.Resource, spec.Scopes)
	if err != nil {
		return session.RouteToken{}, nil, r.grantFailed(ctx, id, marked, err)
	}
	next := withRouteToken(marked, spec.Key(), toks)
	next.RefreshToken = toks.RefreshToken
	next.RefreshFailures, next.RefreshRetryAt = 0, time.Time{}
	next.RefreshPendingSince, next.RefreshPendingOwner = time.Time{}, ""
	if force {
		next.ForcedRefreshAt = r.cfg.Now()
	}
	tok := next.RouteTokens[spec.Key()]
	pending, err := r.store(ctx, id, next)
	switch {
	case err != nil:
		return session.RouteToken{}, nil, err
	case pending:
		return tok, &pendingSave{next: next, since: marked.RefreshPendingSince, owner: marked.RefreshPendingOwner}, nil
	}
	return tok, nil, nil
}

// grantFailed handles a resource grant the IdP did not answer with tokens: a refused
// target keeps the session (the refresh token was not spent: the mark is cleared), a dead
// refresh token ends it, anything else earns the session's back-off.
func (r *Refresher) grantFailed(ctx context.Context, id string, marked *session.Record, err error) error {
	switch {
	case errors.Is(err, idp.ErrTargetRefused):
		r.cfg.Observe(OutcomeRefused)
		r.unmark(ctx, id, marked)
		return routeRefused(err)
	case errors.Is(err, idp.ErrInvalidGrant), errors.Is(err, idp.ErrInvalidToken):
		r.cfg.Observe(OutcomeInvalidGrant)
		r.end(ctx, id)
		return sessionEnded(err)
	}
	r.cfg.Observe(OutcomeTransient)
	return r.failed(ctx, id, marked.RefreshFailures+1, err)
}

// unmark clears the redemption mark after an error answer (the refresh token is unspent).
func (r *Refresher) unmark(ctx context.Context, id string, marked *session.Record) {
	next := *marked
	next.RefreshPendingSince, next.RefreshPendingOwner = time.Time{}, ""
	if err := r.cfg.Store.Update(ctx, id, &next); err != nil && !errors.Is(err, session.ErrNotFound) {
		// The mark then holds the session back for one pending window: no worse.
		r.cfg.Logger.Warn("clearing the redemption mark failed", "err", err)
	}
}

// exchangeLocked exchanges the main access token of rec (read under the lock, so a
// concurrent refresh's result is neither missed nor overwritten) for the route's token
// and stores it. No refresh token is spent: a failed save loses nothing but the token.
func (r *Refresher) exchangeLocked(ctx context.Context, id string, rec *session.Record, spec *credential.TokenSpec, force bool) (session.RouteToken, error) {
	if !r.valid(rec, 0) {
		return session.RouteToken{}, idpUnavailable(time.Second, errors.New("refresh: the session's access token expired before the exchange"))
	}
	ri, err := r.issuer(ctx, id, rec)
	if err != nil {
		return session.RouteToken{}, err
	}
	x := spec.Exchange
	toks, err := ri.ExchangeToken(ctx, rec.AccessToken, x.Audience, x.Scope, x.Resource)
	switch {
	case errors.Is(err, idp.ErrTargetRefused), errors.Is(err, idp.ErrInvalidToken):
		r.cfg.Observe(OutcomeRefused)
		return session.RouteToken{}, routeRefused(err)
	case err != nil:
		r.cfg.Observe(OutcomeTransient)
		return session.RouteToken{}, idpUnavailable(time.Second, fmt.Errorf("refresh: token exchange: %w", err))
	}
	next := withRouteToken(rec, spec.Key(), toks)
	if force {
		next.ForcedRefreshAt = r.cfg.Now()
	}
	tok := next.RouteTokens[spec.Key()]
	if err := r.cfg.Store.Update(ctx, id, next); err != nil {
		if errors.Is(err, session.ErrNotFound) {
			r.cfg.Observe(OutcomeEnded)
			return session.RouteToken{}, sessionEnded(err)
		}
		// Served anyway: the next request exchanges again.
		r.cfg.Observe(OutcomeStoreError)
		r.cfg.Logger.Warn("saving the exchanged token failed", "err", err)
		return tok, nil
	}
	r.cfg.Observe(OutcomeOK)
	return tok, nil
}
