package session

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// indexBatch is how many index members one round trip reads (every remote read is
// bounded, whatever the size of an index).
const indexBatch = 256

// DeleteBySID implements Store.
func (s *redisStore) DeleteBySID(ctx context.Context, sid string) ([]string, error) {
	return s.deleteByIndex(ctx, "sid", sid)
}

// DeleteBySubject implements Store.
func (s *redisStore) DeleteBySubject(ctx context.Context, sub string) ([]string, error) {
	return s.deleteByIndex(ctx, "sub", sub)
}

// DeleteBySIDAndSubject implements Store. It walks the sid index (ZSCAN or SSCAN,
// bounded batches) under every ring key and deletes the members that the subject's
// index also holds, under any ring key (a record re-saved after a key rotation is
// indexed under both). Members of the sid index with another subject stay, so the set
// cannot be drained like DeleteBySID's: the whole index is scanned first and the
// matches deleted after, since removing members mid-scan makes miniredis's cursor skip
// some.
func (s *redisStore) DeleteBySIDAndSubject(ctx context.Context, sid, sub string) ([]string, error) {
	if sid == "" || sub == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	subSets := s.indexSets("sub", sub)
	for _, ix := range s.indexSets("sid", sid) {
		if err := s.deleteMatching(ctx, ix, subSets, seen); err != nil {
			return sortedKeys(seen), s.fail(ctx, "delete by sid and subject", err)
		}
	}
	return sortedKeys(seen), nil
}

// indexSet is one set to walk for an index: the sorted set of a ring key's index name,
// or the plain set the release before sorted indexes keeps under it (legacy, still
// written for that release's replicas, see legacyIndexCalls).
type indexSet struct {
	key    string
	legacy bool
}

// indexSets lists the sets of the index of value under every ring key (records saved
// before a key rotation are indexed under the older key).
func (s *redisStore) indexSets(kind, value string) []indexSet {
	sets := make([]indexSet, 0, 2*len(s.keys.keys))
	for i := range s.keys.keys {
		name := indexName(&s.keys.keys[i], kind, value)
		sets = append(sets, indexSet{key: s.indexSetKey(name)}, indexSet{key: s.legacySetKey(name), legacy: true})
	}
	return sets
}

// deleteMatching deletes the members of the sid index set ix that belong to the subject
// whose index sets are subSets, batch by batch once the scan is complete.
func (s *redisStore) deleteMatching(ctx context.Context, ix indexSet, subSets []indexSet, seen map[string]bool) error {
	match, err := s.scanMatching(ctx, ix, subSets)
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(match, indexBatch) {
		if err := s.deleteRecordsThenMembers(ctx, ix, batch, seen); err != nil {
			return err
		}
	}
	return nil
}

// scanMatching lists the members of the sid index set ix that one of subSets also
// holds, reading ix in bounded batches (ZSCAN, SSCAN) without changing it.
func (s *redisStore) scanMatching(ctx context.Context, ix indexSet, subSets []indexSet) ([]string, error) {
	var match []string
	var cursor uint64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		members, next, err := s.scanIndex(ctx, ix, cursor)
		if err != nil {
			return nil, fmt.Errorf("scan index: %w", err)
		}
		found, err := s.heldByAny(ctx, subSets, members)
		if err != nil {
			return nil, err
		}
		match = append(match, found...)
		if cursor = next; cursor == 0 {
			return match, nil
		}
	}
}

// scanIndex reads one batch of ix's members from cursor.
func (s *redisStore) scanIndex(ctx context.Context, ix indexSet, cursor uint64) ([]string, uint64, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	if ix.legacy {
		return s.client.SScan(octx, ix.key, cursor, "", indexBatch).Result()
	}
	pairs, next, err := s.client.ZScan(octx, ix.key, cursor, "", indexBatch).Result()
	members := make([]string, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 { // member, score, member, score...
		members = append(members, pairs[i])
	}
	return members, next, err
}

// heldByAny returns the members that one of the sets holds: one pipelined ZSCORE or
// SISMEMBER per member and set.
func (s *redisStore) heldByAny(ctx context.Context, sets []indexSet, members []string) ([]string, error) {
	if len(members) == 0 {
		return nil, nil
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	checks := make([][]redis.Cmder, len(members))
	cmds, _ := s.client.Pipelined(octx, func(p redis.Pipeliner) error {
		for _, set := range sets {
			for j, m := range members {
				if set.legacy {
					checks[j] = append(checks[j], p.SIsMember(octx, set.key, m))
				} else {
					checks[j] = append(checks[j], p.ZScore(octx, set.key, m))
				}
			}
		}
		return nil
	})
	for _, c := range cmds { // a ZSCORE of a non-member answers nil: not a failure
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("check subject index: %w", err)
		}
	}
	var out []string
	for j, m := range members {
		if slices.ContainsFunc(checks[j], held) {
			out = append(out, m)
		}
	}
	return out, nil
}

// held reports whether a membership check of heldByAny found its member.
func held(c redis.Cmder) bool {
	switch c := c.(type) {
	case *redis.BoolCmd:
		return c.Val()
	default:
		return c.Err() == nil
	}
}

// deleteByIndex empties the index of value under every ring key, sorted and legacy
// sets: for each batch of members it deletes their records, takes them out of their
// other indexes, and only then removes them from this one, so a failure half-way
// leaves the index able to find what is left. It returns, sorted, the id hashes of the
// records it deleted: not the members whose record had already gone (expired, or ended
// meanwhile), so that a caller counting ended sessions counts each session once.
func (s *redisStore) deleteByIndex(ctx context.Context, kind, value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, ix := range s.indexSets(kind, value) {
		if err := s.drainIndex(ctx, ix, seen); err != nil {
			return sortedKeys(seen), s.fail(ctx, "delete by "+kind, err)
		}
	}
	return sortedKeys(seen), nil
}

// drainIndex deletes every record the index set names, batch by batch, until the set
// is gone (Redis removes an empty set). Members added meanwhile are deleted too.
func (s *redisStore) drainIndex(ctx context.Context, ix indexSet, seen map[string]bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		members, err := s.indexMembers(ctx, ix)
		if err != nil || len(members) == 0 {
			return err
		}
		if err := s.deleteRecordsThenMembers(ctx, ix, members, seen); err != nil {
			return err
		}
	}
}

// indexMembers reads up to one batch of ix's members (passed coverage or not: a drain
// removes them all).
func (s *redisStore) indexMembers(ctx context.Context, ix indexSet) ([]string, error) {
	return s.readMembers(ctx, ix, "-inf", indexBatch)
}

// deleteRecordsThenMembers deletes the members' records (adding to seen those it
// deleted, even when a later step fails), takes them out of the other indexes they
// named (a failure there only leaves members that are pruned when their coverage
// passes), then removes the members from ix.
func (s *redisStore) deleteRecordsThenMembers(ctx context.Context, ix indexSet, members []string, seen map[string]bool) error {
	deleted, err := s.deleteRecords(ctx, members)
	for _, d := range deleted {
		seen[d.idHash] = true
	}
	if err != nil {
		return err
	}
	_ = s.unindex(ctx, deleted)
	octx, cancel := s.op(ctx)
	defer cancel()
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	if ix.legacy {
		err = s.client.SRem(octx, ix.key, args...).Err()
	} else {
		err = s.client.ZRem(octx, ix.key, args...).Err()
	}
	if err != nil {
		return fmt.Errorf("trim index: %w", err)
	}
	return nil
}

// isIDHash reports whether m looks like IDHash's output (64 lower-case hex digits):
// anything else in an index is ignored (and removed), never turned into a key.
func isIDHash(m string) bool {
	if len(m) != 64 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if !(m[i] >= '0' && m[i] <= '9' || m[i] >= 'a' && m[i] <= 'f') {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if isIDHash(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
