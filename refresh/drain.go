package refresh

import (
	"context"
	"fmt"
	"sync"
)

// inflight counts running refreshes and save retries. The zero value is idle.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while n is 0 from the start
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
}

// wait returns a channel closed when nothing is running.
func (f *inflight) wait() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return f.idle
}

// Drain waits until no refresh runs and no refreshed tokens wait for their save, or ctx
// ends. A replica calls it at shutdown, after its listeners stopped taking requests: a
// refresh that got the IdP's answer is stored (or its save window spent) before the process
// exits, rather than lost with it.
func (r *Refresher) Drain(ctx context.Context) error {
	select {
	case <-r.inflight.wait():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("refresh: drain: %w", ctx.Err())
	}
}
