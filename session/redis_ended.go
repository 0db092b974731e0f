package session

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// endedChannel carries the id hashes of sessions that ended, space-separated, to every
// replica (they cut the live websocket and SSE streams of those sessions).
func (s *redisStore) endedChannel() string { return s.prefix + "ended" }

// PublishEnded implements Store.
func (s *redisStore) PublishEnded(ctx context.Context, idHashes []string) error {
	if len(idHashes) == 0 {
		return nil
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := s.client.Publish(octx, s.endedChannel(), strings.Join(idHashes, " ")).Err(); err != nil {
		return s.fail(ctx, "publish ended", err)
	}
	return nil
}

// WatchEnded implements Store. The subscription is re-established with a backoff when
// it cannot be made or breaks; go-redis also reconnects a live one by itself.
func (s *redisStore) WatchEnded(ctx context.Context, fn func(idHash string)) {
	go func() {
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			if err := s.watchEndedOnce(ctx, fn); err == nil {
				backoff = 100 * time.Millisecond
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}()
}

func (s *redisStore) watchEndedOnce(ctx context.Context, fn func(string)) error {
	ps, err := s.subscribe(ctx, s.endedChannel())
	if err != nil {
		return err
	}
	defer ps.Close()
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return fmt.Errorf("session: watch ended: %w", ErrUnavailable)
			}
			for _, h := range strings.Fields(m.Payload) {
				if len(h) == 64 { // an IDHash; anything else is not ours
					fn(h)
				}
			}
		}
	}
}
