package session

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Index coverage. The sid and subject indexes are sorted sets of id hashes, each scored
// by the member's coverage: a time until which the set is known to hold it. A record
// carries its coverage (field c) and never outlives it (its TTL is capped at c - now), so
// a member whose score has passed names a record that is gone: every write to a set
// prunes those, and the set's TTL is its highest score. An ended session's entries thus
// go with it: at once for a logout (Delete and the DeleteBy* take the record out of
// every index it names), and within one coverage for idle or absolute expiry.
//
// Get and Touch slide the idle expiry in one round trip on the record's key alone (the
// index sets live on other Cluster slots), so the coverage cannot slide with them.
// Instead a write covers two idle timeouts (coverGrant) and, when Get or Touch find less
// than one and a half left (coverThreshold), they extend it: once per half idle timeout
// of activity, two more round trips, index sets first and the record after, so the
// record's coverage never runs ahead of its index entries. The half idle timeout
// between the record's TTL (at most one idle timeout) and its coverage is what a failed
// extension, or clocks of replicas that disagree, can use up before a live session could
// be pruned. An idle session's entries outlive it by at most one idle timeout.

// coverage is what a write or an extension at now covers: two idle timeouts, never past
// the absolute expiry (Unix ms).
func (s *redisStore) coverage(now, absolute time.Time) int64 {
	return min(now.Add(2*s.idle).UnixMilli(), absolute.UnixMilli())
}

// coverThreshold: Get and Touch extend a coverage that ends sooner than this.
func (s *redisStore) coverThreshold() time.Duration { return s.idle + s.idle/2 }

// indexCalls are the scripts that put idHash into the index sets of names with score
// coverage (raising it, never lowering it).
func (s *redisStore) indexCalls(idHash string, names []string, coverage int64, now time.Time) []scriptCall {
	calls := make([]scriptCall, 0, len(names))
	for _, name := range names {
		calls = append(calls, scriptCall{indexScript, s.indexSetKey(name), []any{idHash, coverage, now.UnixMilli()}})
	}
	return calls
}

// legacyIndexCalls are the scripts that put idHash into the plain index sets of names,
// as the release before sorted indexes did: their TTL extended to at least left (the
// time to the absolute expiry). Sent in the same pipeline as indexCalls'.
func (s *redisStore) legacyIndexCalls(idHash string, names []string, left time.Duration) []scriptCall {
	calls := make([]scriptCall, 0, len(names))
	for _, name := range names {
		calls = append(calls, scriptCall{legacyIndexScript, s.legacySetKey(name), []any{idHash, left.Milliseconds()}})
	}
	return calls
}

// extendCoverage extends the coverage of the live record idHash, whose script answered
// due = {index names, absolute expiry}: the index sets first, then the record (its
// coverage, and its TTL, which the Get or Touch capped at the old coverage). Failures
// are not reported: the record keeps its current coverage, at least half an idle
// timeout ahead, and the next Get or Touch tries again.
func (s *redisStore) extendCoverage(ctx context.Context, idHash string, due []any) {
	if len(due) != 2 {
		return
	}
	stored, _ := due[0].(string)
	absText, _ := due[1].(string)
	absolute, err := strconv.ParseInt(absText, 10, 64)
	names := parseIndexNames(stored)
	if err != nil || len(names) == 0 {
		return
	}
	now := s.now()
	coverage := min(now.Add(2*s.idle).UnixMilli(), absolute)
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := runScripts(octx, s.client, s.indexCalls(idHash, names, coverage, now)); err != nil {
		return
	}
	n, err := runScript(octx, s.client, scriptCall{coverScript, s.recordKey(idHash), []any{coverage, now.UnixMilli(), s.idleArg}}).Int()
	if err == nil && n == 0 { // ended meanwhile: take back what the first step re-added
		_ = s.unindex(ctx, []deletedRecord{{idHash: idHash, names: names}})
	}
}

// parseIndexNames splits a record's field i into index names, keeping only well-formed
// ones ("sid:" or "sub:" and 64 hex digits): nothing else read from the store is ever
// turned into a key.
func parseIndexNames(stored string) []string {
	var names []string
	for _, name := range strings.Fields(stored) {
		kind, mac, ok := strings.Cut(name, ":")
		if ok && (kind == "sid" || kind == "sub") && isIDHash(mac) {
			names = append(names, name)
		}
	}
	return names
}

// deletedRecord is a record deleteRecords deleted, and the index names it held.
type deletedRecord struct {
	idHash string
	names  []string
}

// deleteRecords deletes the records of the id hashes, one script each in one pipeline
// (they live on different slots), and returns those that existed, with their index
// names, even when some of the deletions failed.
func (s *redisStore) deleteRecords(ctx context.Context, idHashes []string) ([]deletedRecord, error) {
	calls := make([]scriptCall, 0, len(idHashes))
	for _, h := range idHashes {
		if isIDHash(h) {
			calls = append(calls, scriptCall{deleteScript, s.recordKey(h), nil})
		}
	}
	if len(calls) == 0 {
		return nil, nil
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	cmds, err := runScriptsCmds(octx, s.client, calls)
	var deleted []deletedRecord
	for i, cmd := range cmds {
		if i >= len(calls) || cmd.Err() != nil {
			continue
		}
		if stored, ok := cmd.(*redis.Cmd).Val().(string); ok {
			deleted = append(deleted, deletedRecord{
				idHash: strings.TrimPrefix(calls[i].key, s.recordKey("")),
				names:  parseIndexNames(stored)})
		}
	}
	if err != nil {
		return deleted, fmt.Errorf("delete records: %w", err)
	}
	return deleted, nil
}

// unindex takes deleted records out of the index sets they named, sorted and legacy
// (this release writes both, see legacyIndexCalls), in one pipeline.
func (s *redisStore) unindex(ctx context.Context, deleted []deletedRecord) error {
	members := map[string][]any{} // index name -> id hashes
	for _, d := range deleted {
		for _, name := range d.names {
			members[name] = append(members[name], d.idHash)
		}
	}
	if len(members) == 0 {
		return nil
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	if _, err := s.client.Pipelined(octx, func(p redis.Pipeliner) error {
		for name, m := range members {
			p.ZRem(octx, s.indexSetKey(name), m...)
			p.SRem(octx, s.legacySetKey(name), m...)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("unindex: %w", err)
	}
	return nil
}
