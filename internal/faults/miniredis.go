package faults

import (
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// FollowRealTime moves mr's clock and TTLs on with real time every 100 ms, so that leases
// and expiries behave as on a real Redis (miniredis expires keys only when told that time
// passed). The returned func stops it and waits.
func FollowRealTime(mr *miniredis.Miniredis) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		last := time.Now()
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tk.C:
				mr.FastForward(now.Sub(last))
				mr.SetTime(now)
				last = now
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
