package refresh

import (
	"context"
	"errors"
	"time"

	"github.com/tokenward/bff/session"
)

// heldLock is the session's cross-replica lock while this replica holds it: renewed every
// Lease/3 until release. The lease is short (DefaultLease), so a holder that dies, or a lock
// whose acquisition the client gave up on while the server still ran it, blocks nobody for
// longer than one lease.
type heldLock struct {
	lock session.Lock
	stop func()
}

// keep starts renewing lock. The renewal outlives ctx (the shared refresh's context): a
// save retried after the refresh returned (saveLater) still needs the lock; release ends it.
func (r *Refresher) keep(ctx context.Context, lock session.Lock) *heldLock {
	done := make(chan struct{})
	rctx := context.WithoutCancel(ctx)
	go func() {
		t := time.NewTicker(r.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				err := lock.Renew(rctx, r.cfg.Lease)
				if errors.Is(err, session.ErrLockLost) {
					r.cfg.Logger.Warn("refresh lock lost", "err", err)
					return
				}
				if err != nil {
					// A store blip: try again at the next tick, the lease may still hold.
					r.cfg.Logger.Warn("refresh lock renewal failed", "err", err)
				}
			}
		}
	}()
	return &heldLock{lock: lock, stop: func() { close(done) }}
}

// release stops the renewal and gives the lock up, on a fresh context: ctx may have timed
// out, and waiters deserve the wake-up.
func (h *heldLock) release(ctx context.Context, log func(msg string, args ...any)) {
	h.stop()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.lock.Release(rctx); err != nil && !errors.Is(err, session.ErrLockLost) {
		log("refresh lock release failed", "err", err)
	}
}
