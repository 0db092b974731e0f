package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// listScript: ARGV = max sealed size. Reads a record WITHOUT sliding its expiry (a
// listing is not a use of the session): {sealed value, remaining TTL in ms}, or 0 when
// it is absent or larger than the limit (0, not nil: a pipeline would report nil as an
// error).
var listScript = redis.NewScript(`
local n = redis.call('HSTRLEN', KEYS[1], 'v')
if n == 0 or n > tonumber(ARGV[1]) then return 0 end
return {redis.call('HGET', KEYS[1], 'v'), redis.call('PTTL', KEYS[1])}
`)

// ListBySubject implements Store. It reads at most MaxListed+1 members of each of the
// subject's index sets (the sorted ones by live coverage, the legacy ones at random),
// then the records they name in pipelined batches of single-key scripts (Cluster: the
// records live on other slots than the index), opens them and keeps those that are live
// and belong to subjectKey. Nothing is written.
func (s *redisStore) ListBySubject(ctx context.Context, subjectKey string) (Listing, error) {
	if subjectKey == "" {
		return Listing{}, nil
	}
	now := s.now()
	members := map[string]bool{}
	for _, ix := range s.indexSets("sub", subjectKey) {
		found, err := s.liveMembers(ctx, ix, now)
		if err != nil {
			return Listing{}, s.fail(ctx, "list by subject", err)
		}
		for _, m := range found {
			members[m] = true
		}
	}
	var out []Listed
	for batch := range slices.Chunk(sortedKeys(members), indexBatch) {
		listed, err := s.readListed(ctx, batch, subjectKey, now)
		if err != nil {
			return Listing{}, s.fail(ctx, "list by subject", err)
		}
		out = append(out, listed...)
	}
	slices.SortFunc(out, func(a, b Listed) int {
		return cmp.Or(b.Record.Created.Compare(a.Record.Created), cmp.Compare(a.IDHash, b.IDHash))
	})
	l := Listing{Sessions: out}
	if len(out) > MaxListed {
		l.Sessions, l.Truncated = out[:MaxListed], true
	}
	return l, nil
}

// liveMembers reads up to MaxListed+1 members of ix: of a sorted set, those whose
// coverage has not passed (a passed one names a record that is gone).
func (s *redisStore) liveMembers(ctx context.Context, ix indexSet, now time.Time) ([]string, error) {
	return s.readMembers(ctx, ix, "("+strconv.FormatInt(now.UnixMilli(), 10), MaxListed+1)
}

// readMembers reads up to n members of ix: of a sorted set the lowest-scored from min on,
// of a legacy set n at random.
func (s *redisStore) readMembers(ctx context.Context, ix indexSet, min string, n int64) ([]string, error) {
	octx, cancel := s.op(ctx)
	defer cancel()
	var (
		members []string
		err     error
	)
	if ix.legacy {
		members, err = s.client.SRandMemberN(octx, ix.key, n).Result()
	} else {
		members, err = s.client.ZRangeByScore(octx, ix.key, &redis.ZRangeBy{Min: min, Max: "+inf", Count: n}).Result()
	}
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return members, nil
}

// readListed reads the records of the id hashes (one pipeline of listScript) and returns
// those that open, are live at now and belong to subjectKey: an index member naming
// another subject's record (which only someone who can write to the store could put
// there) is never listed.
func (s *redisStore) readListed(ctx context.Context, idHashes []string, subjectKey string, now time.Time) ([]Listed, error) {
	calls := make([]scriptCall, 0, len(idHashes))
	for _, h := range idHashes {
		calls = append(calls, scriptCall{listScript, s.recordKey(h), []any{MaxSealedRecord}})
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	cmds, err := runScriptsCmds(octx, s.client, calls)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	var out []Listed
	for i, cmd := range cmds {
		v, _ := cmd.(*redis.Cmd).Val().([]any)
		if i >= len(idHashes) || len(v) != 2 {
			continue
		}
		sealed, _ := v[0].(string)
		ttl, _ := v[1].(int64)
		rec, err := openRecord(s.keys, idHashes[i], []byte(sealed))
		if err != nil || !now.Before(rec.AbsoluteExpiry) || SubjectKey(rec.Provider, rec.Subject) != subjectKey {
			continue
		}
		out = append(out, Listed{IDHash: idHashes[i], Record: rec, LastUsed: lastUsed(rec, now, time.Duration(ttl)*time.Millisecond, s.idle)})
	}
	return out, nil
}

// lastUsed derives when a session was last used from its record's remaining TTL, with no
// write per request: every use (Get, Touch) sets the TTL to the idle timeout unless the
// absolute expiry or the index coverage is nearer, so the record expires at
// (last use + idle timeout) or earlier; the last use is thus at least now + ttl - idle,
// exactly that when no cap applied (the usual case), and later when one did. It is
// kept within [Created, now] and truncated to the minute: a coarse "last active", not
// an audit trail.
func lastUsed(rec *Record, now time.Time, ttl, idle time.Duration) time.Time {
	t := now.Add(ttl - idle)
	if ttl <= 0 || t.After(now) {
		t = now
	}
	if t.Before(rec.Created) {
		t = rec.Created
	}
	return t.Truncate(time.Minute)
}

// DeleteByIDHashes implements Store: one pipeline deletes the records (one script
// each), a second takes them out of the indexes they named.
func (s *redisStore) DeleteByIDHashes(ctx context.Context, idHashes []string) ([]string, error) {
	if len(idHashes) > MaxListed {
		return nil, errors.New("session: delete by id hashes: more than MaxListed at once")
	}
	deleted, err := s.deleteRecords(ctx, idHashes)
	seen := make(map[string]bool, len(deleted))
	for _, d := range deleted {
		seen[d.idHash] = true
	}
	if err != nil {
		return sortedKeys(seen), s.fail(ctx, "delete by id hashes", err)
	}
	_ = s.unindex(ctx, deleted)
	return sortedKeys(seen), nil
}
