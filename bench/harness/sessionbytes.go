package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// What the run's sessions take in Redis (issue 15: "Redis bytes per session ≤ 1.3× the
// raw token bytes"), measured once every BFF has logged its sessions in: MEMORY USAGE
// (SAMPLES 0: exact) of a sample of session records and the length of their sealed value,
// and MEMORY USAGE of every key the run added (records, the sid and subject indexes), set
// against the reference token set (tokenref.go).

const (
	// recordKeyPrefix is the default key prefix's session records: "bff:" + "s:" + the id
	// hash (session's redisStore.recordKey).
	recordKeyPrefix = "bff:s:"
	// recordValueField is the record hash's field holding the sealed record.
	recordValueField = "v"
	// bytesSample is how many records are looked at closely.
	bytesSample = 200
	// memoryBatch is how many MEMORY USAGE commands go in one pipeline.
	memoryBatch = 1000
	// recordGoal is the target for a record's bytes over its token bytes.
	recordGoal = 1.3
)

// spread summarises sizes: their mean and range.
type spread struct {
	mean     float64
	min, max int64
}

func spreadOf(v []int64) spread {
	if len(v) == 0 {
		return spread{}
	}
	var sum int64
	for _, x := range v {
		sum += x
	}
	return spread{mean: float64(sum) / float64(len(v)), min: slices.Min(v), max: slices.Max(v)}
}

// sessionBytes is the measurement.
type sessionBytes struct {
	sessions int // sessions logged in (every BFF)
	records  int // record keys the run added
	record   spread
	value    spread // HSTRLEN of the sealed value
	sampled  int
	allKeys  int   // keys the run added
	allBytes int64 // their MEMORY USAGE
	tokens   []tokenSizes
}

// measureSessionBytes reads the keys the run added (not in before) in c's database;
// exact asks Redis to count every element of a collection (SAMPLES 0: an index set of
// 20,000 members is otherwise estimated from 5), which Redis-compatible test servers
// may refuse.
func measureSessionBytes(ctx context.Context, c *redis.Client, before map[string]bool, sessions int, exact bool) (sessionBytes, error) {
	now, err := bffKeys(ctx, c)
	if err != nil {
		return sessionBytes{}, err
	}
	var all, records []string
	for k := range now {
		if before[k] {
			continue
		}
		all = append(all, k)
		if strings.HasPrefix(k, recordKeyPrefix) {
			records = append(records, k)
		}
	}
	slices.Sort(records)
	sample := sampleEvenly(records, bytesSample)
	mem, err := memoryUsage(ctx, c, all, exact)
	if err != nil {
		return sessionBytes{}, err
	}
	lens, err := valueLengths(ctx, c, sample)
	if err != nil {
		return sessionBytes{}, err
	}
	recMem := make([]int64, len(sample))
	for i, k := range sample {
		recMem[i] = mem[k]
	}
	var total int64
	for _, n := range mem {
		total += n
	}
	return sessionBytes{
		sessions: sessions, records: len(records), sampled: len(sample),
		record: spreadOf(recMem), value: spreadOf(lens), allKeys: len(all), allBytes: total,
	}, nil
}

// sampleEvenly picks at most n of sorted, spread over it.
func sampleEvenly(sorted []string, n int) []string {
	if len(sorted) <= n {
		return sorted
	}
	out := make([]string, n)
	for i := range out {
		out[i] = sorted[i*len(sorted)/n]
	}
	return out
}

// memoryUsage is MEMORY USAGE key [SAMPLES 0] of each key, pipelined; a key gone
// meanwhile counts 0.
func memoryUsage(ctx context.Context, c *redis.Client, keys []string, exact bool) (map[string]int64, error) {
	var samples []int
	if exact {
		samples = []int{0}
	}
	out := make(map[string]int64, len(keys))
	for batch := range slices.Chunk(keys, memoryBatch) {
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cmds := make([]*redis.IntCmd, len(batch))
		_, err := c.Pipelined(bctx, func(p redis.Pipeliner) error {
			for i, k := range batch {
				cmds[i] = p.MemoryUsage(bctx, k, samples...)
			}
			return nil
		})
		cancel()
		if err != nil && err != redis.Nil {
			return nil, fmt.Errorf("redis memory usage: %w", err)
		}
		for i, k := range batch {
			out[k] = cmds[i].Val()
		}
	}
	return out, nil
}

// valueLengths is HSTRLEN key v of each record key.
func valueLengths(ctx context.Context, c *redis.Client, keys []string) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmds := make([]*redis.IntCmd, len(keys))
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HStrLen(ctx, k, recordValueField)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redis hstrlen: %w", err)
	}
	out := make([]int64, len(keys))
	for i, cmd := range cmds {
		out[i] = cmd.Val()
	}
	return out, nil
}

// ratio is a/b, 0 when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func (s sessionBytes) print(w io.Writer) {
	fmt.Fprintf(w, "Redis bytes per session (%d sessions, %d records; MEMORY USAGE of %d records spread over them):\n",
		s.sessions, s.records, s.sampled)
	fmt.Fprintf(w, "  record %.0f (%d..%d), its sealed value (HSTRLEN %s) %.0f (%d..%d); every key the run added (%d keys, indexes included) %.0f per session\n",
		s.record.mean, s.record.min, s.record.max, recordValueField, s.value.mean, s.value.min, s.value.max,
		s.allKeys, ratio(float64(s.allBytes), float64(s.sessions)))
	if len(s.tokens) == 0 {
		fmt.Fprintln(w, "  raw token bytes: not measured")
		return
	}
	totals := make([]int64, len(s.tokens))
	var acc, ref, id int
	for i, t := range s.tokens {
		totals[i] = int64(t.total())
		acc, ref, id = acc+t.access, ref+t.refresh, id+t.id
	}
	tok := spreadOf(totals)
	n := len(s.tokens)
	fmt.Fprintf(w, "  raw token bytes (the same OP's token set for the harness's own code flow, %d flows): %.0f (%d..%d; access %d, refresh %d, ID %d)\n",
		n, tok.mean, tok.min, tok.max, acc/n, ref/n, id/n)
	rec := ratio(s.record.mean, tok.mean)
	fmt.Fprintf(w, "  record/tokens %.2f (goal <= %.2f: %s), sealed value/tokens %.2f, every key/tokens %.2f\n",
		rec, recordGoal, map[bool]string{true: "MET", false: "NOT MET"}[rec > 0 && rec <= recordGoal],
		ratio(s.value.mean, tok.mean), ratio(ratio(float64(s.allBytes), float64(s.sessions)), tok.mean))
}
