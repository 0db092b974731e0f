package session

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// endedChannel carries session events to every replica, space-separated tokens: a bare
// id hash is a session that ended (they cut its live websocket and SSE streams; the
// release before events knew only these, and ignores every other token), "r:" + an id
// hash a session refreshed.
func (s *redisStore) endedChannel() string { return s.prefix + "ended" }

// defaultEndedProbe is how often WatchEnded checks, on Sentinel, that its subscription
// still hears what is published (see watchEndedOnce).
const defaultEndedProbe = time.Second

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

// refreshedPrefix marks a refreshed session's id hash on the channel.
const refreshedPrefix = "r:"

// PublishRefreshed implements Store.
func (s *redisStore) PublishRefreshed(ctx context.Context, idHashes []string) error {
	if len(idHashes) == 0 {
		return nil
	}
	tokens := make([]string, len(idHashes))
	for i, h := range idHashes {
		tokens[i] = refreshedPrefix + h
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := s.client.Publish(octx, s.endedChannel(), strings.Join(tokens, " ")).Err(); err != nil {
		return s.fail(ctx, "publish refreshed", err)
	}
	return nil
}

// Watch implements Store. The subscription is re-established with a backoff when
// it cannot be made or breaks; go-redis also reconnects a live one by itself.
func (s *redisStore) Watch(ctx context.Context, fn func(Event)) {
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

// watchEndedOnce holds one subscription until ctx ends or the subscription fails. On
// Sentinel (endedProbe > 0), every endedProbe it publishes a probe on the channel (through the store's client, so to the
// current master) and expects it back before the next one; when it does not come back it
// returns nil, so that WatchEnded subscribes again at once. That is what moves the
// subscription after a Sentinel failover: go-redis moves its command connections to the
// new master but leaves a subscription on the demoted one, which hears nothing published
// on the new master until the sentinels make it a replica (10 to 20 s later, or never
// while it is partitioned away). A probe is not an id hash: watchers ignore it. One
// node has no failover, and on Cluster a PUBLISH reaches the subscribers of every node,
// so neither sends probes (one PUBLISH a second per replica).
func (s *redisStore) watchEndedOnce(ctx context.Context, fn func(Event)) error {
	ps, err := s.subscribe(ctx, s.endedChannel())
	if err != nil {
		return err
	}
	defer ps.Close()
	fn(Event{Kind: EventResubscribed})
	// With the subscriptions on the channel: go-redis reconnects a broken subscription by
	// itself, and the confirmation of its new SUBSCRIBE is the only sign of the gap, in
	// which announcements were lost (the first confirmation was read by subscribe).
	msgs := ps.ChannelWithSubscriptions()
	var probes <-chan time.Time // nil: never
	if s.endedProbe > 0 {
		tick := time.NewTicker(s.endedProbe)
		defer tick.Stop()
		probes = tick.C
	}
	var probe string // the probe awaited, "" when none is
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return fmt.Errorf("session: watch ended: %w", ErrUnavailable)
			}
			m, isMessage := msg.(*redis.Message)
			if !isMessage {
				if sub, isSub := msg.(*redis.Subscription); isSub && sub.Kind == "subscribe" {
					fn(Event{Kind: EventResubscribed})
				}
				continue
			}
			for _, h := range strings.Fields(m.Payload) {
				switch {
				case h == probe:
					probe = ""
				case isIDHash(h):
					fn(Event{Kind: EventEnded, IDHash: h})
				case strings.HasPrefix(h, refreshedPrefix) && isIDHash(h[len(refreshedPrefix):]):
					fn(Event{Kind: EventRefreshed, IDHash: h[len(refreshedPrefix):]})
				}
			}
		case <-probes:
			if probe != "" {
				return nil // deaf: resubscribe
			}
			probe = s.publishProbe(ctx)
		}
	}
}

// publishProbe publishes a fresh probe on the ended channel and returns it, or "" when
// the publish failed (the store is down: nothing to learn about the subscription).
func (s *redisStore) publishProbe(ctx context.Context) string {
	probe := "probe-" + rand.Text()
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := s.client.Publish(octx, s.endedChannel(), probe).Err(); err != nil {
		return ""
	}
	return probe
}
