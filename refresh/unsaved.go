package refresh

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tokenward/bff/session"
)

// Save retry pacing: the first retry after saveRetryMin, doubling to saveRetryMax, each
// attempt bounded by saveAttempt.
const (
	saveRetryMin = 100 * time.Millisecond
	saveRetryMax = time.Second
	saveAttempt  = 2 * time.Second
)

// errMarkTaken: the record no longer carries this attempt's mark (another replica redeemed
// after the pending window, or the session was logged in anew): saving would overwrite it.
var errMarkTaken = errors.New("refresh: the redemption mark is no longer ours")

// unsavedTokens holds refreshed records the store has not taken yet, by session id hash,
// so that this replica's requests of the session use the new tokens meanwhile. Entries
// live at most one pending window.
type unsavedTokens struct {
	mu sync.Mutex
	m  map[string]*session.Record
}

func (u *unsavedTokens) get(key string) *session.Record {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[key]
}

func (u *unsavedTokens) put(key string, rec *session.Record) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.m[key] = rec
}

func (u *unsavedTokens) drop(key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, key)
}

// pendingSave is a refresh whose new tokens the store did not take: the record to save and
// the mark (time, owner) that guards it.
type pendingSave struct {
	next  *session.Record
	since time.Time
	owner string
}

// saveLater keeps p's tokens in memory and retries the save in the background, holding
// (and renewing) the lock so that no one redeems meanwhile, until it works or the pending
// window (counted from the mark) passes.
func (r *Refresher) saveLater(id string, p *pendingSave, held *heldLock) {
	key := session.IDHash(id)
	r.unsaved.put(key, p.next)
	r.inflight.add()
	go func() {
		defer r.inflight.done()
		defer held.release(context.Background(), r.cfg.Logger.Warn)
		defer r.unsaved.drop(key)
		r.retrySave(id, p)
	}()
}

// retrySave retries the save with back-off until it works, the session ends or the pending
// window passes. The window is measured on the wall clock from now (Config.Now may be a
// test's frozen clock), minus the mark's age on Config.Now.
func (r *Refresher) retrySave(id string, p *pendingSave) {
	deadline := time.Now().Add(r.cfg.PendingWindow - r.cfg.Now().Sub(p.since))
	delay := saveRetryMin
	for {
		wait := min(delay, time.Until(deadline))
		if wait <= 0 {
			r.cfg.Observe(OutcomeSaveLost)
			r.cfg.Logger.Error("refreshed tokens could not be saved within the pending window; the session's next refresh may be refused",
				"window", r.cfg.PendingWindow.String())
			return
		}
		time.Sleep(wait)
		err := r.saveIfOurs(id, p)
		switch {
		case err == nil:
			r.cfg.Observe(OutcomeSaveLate)
			r.announce(context.Background(), id)
			return
		case errors.Is(err, session.ErrNotFound):
			r.cfg.Observe(OutcomeEnded)
			return
		case errors.Is(err, errMarkTaken):
			r.cfg.Observe(OutcomeSaveLost)
			r.cfg.Logger.Error("refreshed tokens not saved: another attempt took the session over")
			return
		}
		delay = min(2*delay, saveRetryMax)
	}
}

// saveIfOurs writes p's record if the stored one still carries p's mark.
func (r *Refresher) saveIfOurs(id string, p *pendingSave) error {
	ctx, cancel := context.WithTimeout(context.Background(), saveAttempt)
	defer cancel()
	cur, err := r.cfg.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	if cur.RefreshPendingOwner != p.owner {
		return errMarkTaken
	}
	return r.cfg.Store.Update(ctx, id, p.next)
}
