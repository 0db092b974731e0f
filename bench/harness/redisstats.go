package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The harness's own use of Redis: remember which BFF keys existed in the bench database
// before the run and delete only the ones the run created; read the server's per-command
// call counters around the BFF's windows.

const (
	bffKeyPattern = "bff:*" // the BFF's default key prefix (session.DefaultKeyPrefix)
	maxScanKeys   = 1 << 20
	redisOpTime   = 5 * time.Second
)

func openRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisOpTime, redisOpTime, redisOpTime
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, redisOpTime)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis at %s: %w", opts.Addr, err)
	}
	return c, nil
}

// bffKeys lists the keys of the BFF's prefix in the client's database.
func bffKeys(ctx context.Context, c *redis.Client) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	keys := map[string]bool{}
	iter := c.Scan(ctx, 0, bffKeyPattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys[iter.Val()] = true
		if len(keys) > maxScanKeys {
			return nil, fmt.Errorf("redis: more than %d keys match %s: not a bench database", maxScanKeys, bffKeyPattern)
		}
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("redis scan: %w", err)
	}
	return keys, nil
}

// deleteNewKeys deletes the BFF keys that were not in before; it returns how many.
func deleteNewKeys(ctx context.Context, c *redis.Client, before map[string]bool) (int, error) {
	now, err := bffKeys(ctx, c)
	if err != nil {
		return 0, err
	}
	var ours []string
	for k := range now {
		if !before[k] {
			ours = append(ours, k)
		}
	}
	if len(ours) == 0 {
		return 0, nil
	}
	dctx, cancel := context.WithTimeout(ctx, redisOpTime)
	defer cancel()
	if err := c.Del(dctx, ours...).Err(); err != nil {
		return 0, fmt.Errorf("redis del: %w", err)
	}
	return len(ours), nil
}

// commandCalls reads INFO commandstats: calls per command name ("evalsha"). The counters
// are server-wide: every client of the server adds to them.
func commandCalls(ctx context.Context, c *redis.Client) (map[string]uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, redisOpTime)
	defer cancel()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("redis info: %w", err)
	}
	return parseCommandStats(info), nil
}

// parseCommandStats reads lines "cmdstat_NAME:calls=N,usec=...".
func parseCommandStats(info string) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for field := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					out[strings.TrimPrefix(name, "cmdstat_")] = n
				}
			}
		}
	}
	return out
}

// callsDelta is after - before for every command that grew.
func callsDelta(before, after map[string]uint64) map[string]uint64 {
	d := map[string]uint64{}
	for k, v := range after {
		if v > before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}
