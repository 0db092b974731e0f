package bff

import (
	"context"
	"time"

	"github.com/tokenward/bff/metrics"
)

// sessionsEnded cuts the live streams of sessions that ended here at once, and tells the
// other replicas through the store so that they cut theirs (WatchEnded in build).
func (s *Server) sessionsEnded(idHashes []string) {
	for _, h := range idHashes {
		s.proxy.CloseSession(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.store.PublishEnded(ctx, idHashes); err != nil {
		s.log.Warn("announcing ended sessions to the other replicas failed", "err", err)
	}
}

// streamSweepInterval is how often live streams' sessions are checked: often enough that
// an idle timeout cannot pass unnoticed, at most every 30 s.
func streamSweepInterval(idle time.Duration) time.Duration {
	return min(max(idle/3, 100*time.Millisecond), 30*time.Second)
}

// sweepStreams keeps the sessions of live streams alive (a stream is activity) and cuts
// the streams of sessions that are gone: expired, or ended while this replica missed the
// announcement. A store that cannot answer cuts nothing.
func (s *Server) sweepStreams(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, h := range s.proxy.StreamSessions() {
			tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			alive, err := s.store.Touch(tctx, h)
			cancel()
			if err == nil && !alive {
				s.proxy.CloseSession(h)
				s.metrics.SessionEnded(metrics.EndedExpiredStream, 1)
			}
		}
	}
}
