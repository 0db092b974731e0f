package session

import (
	"context"
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

// DeleteBySIDAndSubject implements Store. It walks the sid index (SSCAN, bounded
// batches) under every ring key and deletes the members that the subject's index also
// holds, under any ring key (a record re-saved after a key rotation is indexed under
// both). Members of the sid index with another subject stay, so the set cannot be
// drained like DeleteBySID's: the whole index is scanned first and the matches deleted
// after, since removing members mid-scan makes miniredis's cursor skip some.
func (s *redisStore) DeleteBySIDAndSubject(ctx context.Context, sid, sub string) ([]string, error) {
	if sid == "" || sub == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	for i := range s.keys.keys {
		key := s.indexKey(&s.keys.keys[i], "sid", sid)
		if err := s.deleteMatching(ctx, key, sub, seen); err != nil {
			return sortedKeys(seen), s.fail(ctx, "delete by sid and subject", err)
		}
	}
	return sortedKeys(seen), nil
}

// deleteMatching deletes the members of the sid index key that belong to subject sub,
// batch by batch once the scan is complete.
func (s *redisStore) deleteMatching(ctx context.Context, key, sub string, seen map[string]bool) error {
	match, err := s.scanMatching(ctx, key, sub)
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(match, indexBatch) {
		deleted, err := s.deleteRecordsThenMembers(ctx, key, batch)
		for _, m := range deleted {
			seen[m] = true
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scanMatching lists the members of the sid index key that belong to subject sub,
// reading the index in bounded batches (SSCAN) without changing it.
func (s *redisStore) scanMatching(ctx context.Context, key, sub string) ([]string, error) {
	var match []string
	var cursor uint64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		octx, cancel := s.op(ctx)
		members, next, err := s.client.SScan(octx, key, cursor, "", indexBatch).Result()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("scan index: %w", err)
		}
		found, err := s.ofSubject(ctx, sub, members)
		if err != nil {
			return nil, err
		}
		match = append(match, found...)
		if cursor = next; cursor == 0 {
			return match, nil
		}
	}
}

// ofSubject returns the members that the index of subject sub holds under some ring
// key: one pipelined SISMEMBER per member and key.
func (s *redisStore) ofSubject(ctx context.Context, sub string, members []string) ([]string, error) {
	if len(members) == 0 {
		return nil, nil
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	checks := make([][]*redis.BoolCmd, len(members))
	_, err := s.client.Pipelined(octx, func(p redis.Pipeliner) error {
		for i := range s.keys.keys {
			key := s.indexKey(&s.keys.keys[i], "sub", sub)
			for j, m := range members {
				checks[j] = append(checks[j], p.SIsMember(octx, key, m))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check subject index: %w", err)
	}
	var out []string
	for j, m := range members {
		if slices.ContainsFunc(checks[j], func(c *redis.BoolCmd) bool { return c.Val() }) {
			out = append(out, m)
		}
	}
	return out, nil
}

// deleteByIndex empties the index of value under every ring key (records saved before
// a key rotation are indexed under the older key): for each batch of members it
// deletes their records, and only then removes them from the index, so a failure
// half-way leaves the index able to find what is left. It returns, sorted, the id
// hashes of the records it deleted: not the members whose record had already gone
// (expired, or ended by a logout, which leaves the index alone), so that a caller
// counting ended sessions counts each session once.
func (s *redisStore) deleteByIndex(ctx context.Context, kind, value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	for i := range s.keys.keys {
		key := s.indexKey(&s.keys.keys[i], kind, value)
		if err := s.drainIndex(ctx, key, seen); err != nil {
			return sortedKeys(seen), s.fail(ctx, "delete by "+kind, err)
		}
	}
	return sortedKeys(seen), nil
}

// drainIndex deletes every record the index set names, batch by batch, until the set
// is gone (Redis removes an empty set). Members added meanwhile are deleted too.
func (s *redisStore) drainIndex(ctx context.Context, key string, seen map[string]bool) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		members, err := s.indexMembers(ctx, key)
		if err != nil || len(members) == 0 {
			return err
		}
		deleted, err := s.deleteRecordsThenMembers(ctx, key, members)
		for _, m := range deleted {
			seen[m] = true
		}
		if err != nil {
			return err
		}
	}
}

func (s *redisStore) indexMembers(ctx context.Context, key string) ([]string, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	members, err := s.client.SRandMemberN(octx, key, indexBatch).Result()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return members, nil
}

// deleteRecordsThenMembers deletes the records (one DEL each: they live on different
// slots), then removes the members from the index (one key). It returns the members
// whose record it deleted (DEL answered 1), even when trimming the index then failed.
func (s *redisStore) deleteRecordsThenMembers(ctx context.Context, key string, members []string) ([]string, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	dels := make([]*redis.IntCmd, len(members))
	_, err := s.client.Pipelined(octx, func(p redis.Pipeliner) error {
		for i, m := range members {
			if isIDHash(m) {
				dels[i] = p.Del(octx, s.recordKey(m))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("delete records: %w", err)
	}
	var deleted []string
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
		if dels[i] != nil && dels[i].Val() > 0 {
			deleted = append(deleted, m)
		}
	}
	if err := s.client.SRem(octx, key, args...).Err(); err != nil {
		return deleted, fmt.Errorf("trim index: %w", err)
	}
	return deleted, nil
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
