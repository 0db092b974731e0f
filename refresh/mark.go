package refresh

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/tokenward/bff/session"
)

// The redemption mark (Record.RefreshPendingSince, Record.RefreshPendingOwner) is written
// under the lock before the refresh token goes to the IdP and cleared with the new tokens.
// Under strict rotation the IdP revokes the whole token family when a spent refresh token
// comes back; a record still marked may hold a spent one (its new tokens are in another
// process's memory, or were lost with it), so nobody else redeems it within the pending
// window. After the window it is redeemed once more: a provider with a rotation grace
// period honours it, any other refuses it and the session ends (docs/deploy/idp-settings.md).

// mark writes the redemption mark into rec's session and returns the marked record. A
// store that cannot take the mark cannot be trusted to take the new tokens either: the IdP
// is not called.
func (r *Refresher) mark(ctx context.Context, id string, rec *session.Record) (*session.Record, error) {
	owner, err := markOwner()
	if err != nil {
		return nil, storeUnavailable(err)
	}
	next := *rec
	next.RefreshPendingSince, next.RefreshPendingOwner = r.cfg.Now(), owner
	switch err := r.cfg.Store.Update(ctx, id, &next); {
	case errors.Is(err, session.ErrNotFound):
		return nil, sessionEnded(err)
	case err != nil:
		r.cfg.Observe(OutcomeStoreError)
		return nil, storeOrContext("marking the refresh", err)
	}
	return &next, nil
}

// markOwner is a random value naming one attempt: its save retry writes only while the
// record still carries it.
func markOwner() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("refresh: mark owner: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// pendingElsewhere is an ErrStoreUnavailable error, with RetryAfter, while rec carries a
// redemption mark younger than the pending window: read under the lock, the mark is another
// attempt's (this replica's own pending saves are served from memory before any lock), whose
// holder died or lost the store after the IdP may have answered.
func (r *Refresher) pendingElsewhere(rec *session.Record) error {
	if rec.RefreshPendingSince.IsZero() {
		return nil
	}
	left := rec.RefreshPendingSince.Add(r.cfg.PendingWindow).Sub(r.cfg.Now())
	if left <= 0 {
		return nil
	}
	r.cfg.Observe(OutcomePendingElsewhere)
	return &Error{Kind: ErrStoreUnavailable, RetryAfter: left,
		Cause: errors.New("refresh: another attempt's new tokens may not have reached the store yet")}
}
