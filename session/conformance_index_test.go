package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// The index contract: an ended session's sid and subject entries go with it, at once
// for a logout, within one coverage for expiry; a live session stays findable however
// long it is used; sets written by earlier versions keep working.

// indexKeysOf returns the keys of the store that are index sets (sorted or legacy).
func indexKeysOf(t *testing.T, rs *redisStore) []string {
	t.Helper()
	var out []string
	for _, k := range rawKeys(t, rs) {
		rest := strings.TrimPrefix(k, rs.prefix)
		if strings.HasPrefix(rest, "ix:") || strings.HasPrefix(rest, "sid:") || strings.HasPrefix(rest, "sub:") {
			out = append(out, k)
		}
	}
	return out
}

// wantIndexSets fails unless the store holds exactly n index sets.
func wantIndexSets(t *testing.T, rs *redisStore, n int, when string) {
	t.Helper()
	if got := indexKeysOf(t, rs); len(got) != n {
		t.Fatalf("%d index sets %s, want %d: %v", len(got), when, n, got)
	}
}

// indexSetOf is the sorted index set of kind/value under the store's newest key.
func indexSetOf(rs *redisStore, kind, value string) string {
	return rs.indexSetKey(indexName(&rs.keys.keys[0], kind, value))
}

// legacySetOf is the plain index set of kind/value under the store's newest key: where
// the release before sorted indexes looks a sid or subject up.
func legacySetOf(rs *redisStore, kind, value string) string {
	return rs.indexKey(&rs.keys.keys[0], kind, value)
}

// isLegacySet reports whether key is a plain index set.
func isLegacySet(rs *redisStore, key string) bool {
	rest := strings.TrimPrefix(key, rs.prefix)
	return strings.HasPrefix(rest, "sid:") || strings.HasPrefix(rest, "sub:")
}

// legacyMembers reads a plain index set as the previous release does (SMEMBERS), sorted.
func legacyMembers(t *testing.T, rs *redisStore, kind, value string) []string {
	t.Helper()
	members, err := rs.client.SMembers(t.Context(), legacySetOf(rs, kind, value)).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(members)
	return members
}

// expectNoKeys fails unless the store holds no key at all (records, indexes, anything).
func expectNoKeys(t *testing.T, rs *redisStore, after string) {
	t.Helper()
	if keys := rawKeys(t, rs); len(keys) != 0 {
		t.Fatalf("after %s the store still holds %d keys: %v", after, len(keys), keys)
	}
}

// Logging out every session of a user, by id, leaves not one key behind; also for a
// record re-saved after a key rotation, which is indexed under both keys' names.
func testLogoutLeavesNoIndex(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	ids := []string{saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-2", "alice"),
		saveIndexed(t, st, clock, "sid-1", "bob")}
	rotated := withRing(t, rs, prependKey(t, rs.keys))
	rec := sampleRecord(clock.Now(), "alice")
	rec.SID, rec.Subject = "sid-1", "alice"
	if err := rotated.Save(ctx, ids[0], rec); err != nil {
		t.Fatal(err)
	}
	// sid-1, sid-2, alice, bob; sid-1 and alice under the new key: each a sorted set and,
	// for replicas of the previous release, a plain one.
	wantIndexSets(t, rs, 12, "before the logouts")
	for _, id := range ids {
		if err := rotated.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	expectNoKeys(t, rs, "logging out every session")
}

// Sessions that end by idle expiry leave no sorted index set once their coverage has
// passed, however long they were used before, and however many Gets extended their
// coverage; the plain sets still written for the previous release end at the absolute
// expiry, as that release's did.
func testIdleExpiryLeavesNoIndex(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	absolute := clock.Now().Add(7 * suiteIdle)
	used := saveIndexedUntil(t, st, clock, "sid-1", "alice", absolute)
	saveIndexedUntil(t, st, clock, "sid-2", "alice", absolute)
	for range 5 { // 5 × 0.6 idle: past the first coverage (2 idle), extended by Get
		advance(suiteIdle * 6 / 10)
		if _, err := st.Get(ctx, used); err != nil {
			t.Fatal(err)
		}
	}
	if len(indexKeysOf(t, rs)) == 0 {
		t.Fatal("the used session's index sets are already gone")
	}
	advance(2 * suiteIdle) // the idle timeout, and what coverage remained past it
	pollKeys(t, rs, advance, func(k string) bool { return isLegacySet(rs, k) }, "idle expiry")
	advance(absolute.Sub(clock.Now()))
	pollNoKeys(t, rs, advance, "the absolute expiry")
}

// pollNoKeys waits, moving the clocks in small steps, until the store holds no key (a
// real Redis expires keys on its own schedule); it fails after 40 steps.
func pollNoKeys(t *testing.T, rs *redisStore, advance func(time.Duration), after string) {
	t.Helper()
	pollKeys(t, rs, advance, func(string) bool { return false }, after)
}

// pollKeys is pollNoKeys that lets the store keep the keys that may keep.
func pollKeys(t *testing.T, rs *redisStore, advance func(time.Duration), may func(string) bool, after string) {
	t.Helper()
	var left []string
	for range 40 {
		left = slices.DeleteFunc(rawKeys(t, rs), may)
		if len(left) == 0 {
			return
		}
		advance(ms(25))
	}
	t.Fatalf("after %s the store still holds %d keys: %v", after, len(left), left)
}

// A session in use stays findable by its sid and subject long after the coverage its
// login gave it: Get and Touch extend the coverage of the record and of its index sets.
func testUsedSessionStaysIndexed(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	byGet, byTouch := saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-2", "alice")
	for i := range 8 { // 8 × 0.6 idle = 4.8 idle: more than two coverages
		advance(suiteIdle * 6 / 10)
		if _, err := st.Get(ctx, byGet); err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
		if live, err := st.Touch(ctx, IDHash(byTouch)); err != nil || !live {
			t.Fatalf("Touch %d: %v, %v", i, live, err)
		}
	}
	if got, err := st.DeleteBySID(ctx, "sid-1"); err != nil || !slices.Equal(got, []string{IDHash(byGet)}) {
		t.Fatalf("DeleteBySID of a session kept alive by Get = %v, %v", got, err)
	}
	if got, err := st.DeleteBySubject(ctx, "alice"); err != nil || !slices.Equal(got, []string{IDHash(byTouch)}) {
		t.Fatalf("DeleteBySubject of a session kept alive by Touch = %v, %v", got, err)
	}
	expectNoKeys(t, st.(*redisStore), "ending both sessions by index")
}

// A Get or Touch that extends the coverage leaves the record its full idle timeout: a
// user who returns after 0.95 idle timeout (the coverage has less than the threshold
// left, so that request extends it) and then pauses 0.7 idle timeout is still logged
// in. The request slid the TTL only up to the OLD coverage (0.6 idle timeout away), so
// the extension must slide it again.
func testExtensionKeepsTheIdleTimeout(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	byGet, byTouch := saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-2", "alice")
	use := func(step string) {
		t.Helper()
		if _, err := st.Get(ctx, byGet); err != nil {
			t.Fatalf("Get %s: %v (idle timeout %v)", step, err, suiteIdle)
		}
		if live, err := st.Touch(ctx, IDHash(byTouch)); err != nil || !live {
			t.Fatalf("Touch %s: %v, %v (idle timeout %v)", step, live, err, suiteIdle)
		}
	}
	advance(suiteIdle * 45 / 100) // coverage 1.55 idle away: above the threshold, no extension
	use("at 0.45 idle")
	advance(suiteIdle * 95 / 100) // coverage 0.6 idle away: this request extends it
	use("after 0.95 idle")
	advance(suiteIdle * 70 / 100) // a pause shorter than the idle timeout
	use("after a pause of 0.7 idle")
}

// DeleteBySID takes the sessions it ends out of their subjects' indexes too,
// DeleteBySubject out of their sids' indexes, DeleteBySIDAndSubject out of both.
func testDeleteByIndexCleansTheOtherIndex(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	save := func(sid, sub string) string { return saveIndexed(t, st, clock, sid, sub) }
	save("sid-1", "alice")
	save("sid-1", "alice")
	save("sid-1", "bob")
	kept := save("sid-2", "alice")
	if _, err := st.DeleteBySID(ctx, "sid-1"); err != nil {
		t.Fatal(err)
	}
	want := []string{indexSetOf(rs, "sid", "sid-2"), indexSetOf(rs, "sub", "alice"),
		legacySetOf(rs, "sid", "sid-2"), legacySetOf(rs, "sub", "alice")}
	slices.Sort(want)
	if got := indexKeysOf(t, rs); !slices.Equal(got, want) {
		t.Fatalf("index sets after DeleteBySID(sid-1) = %v, want only sid-2's and alice's", got)
	}
	if members := rs.client.ZRange(ctx, indexSetOf(rs, "sub", "alice"), 0, -1).Val(); !slices.Equal(members, []string{IDHash(kept)}) {
		t.Fatalf("alice's index after DeleteBySID(sid-1) holds %d members, want her sid-2 session only", len(members))
	}
	if members := legacyMembers(t, rs, "sub", "alice"); !slices.Equal(members, []string{IDHash(kept)}) {
		t.Fatalf("alice's plain index after DeleteBySID(sid-1) holds %d members, want her sid-2 session only", len(members))
	}
	if _, err := st.DeleteBySubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	expectNoKeys(t, rs, "DeleteBySubject(alice)")

	save("sid-3", "alice")
	bob := save("sid-3", "bob")
	if _, err := st.DeleteBySIDAndSubject(ctx, "sid-3", "alice"); err != nil {
		t.Fatal(err)
	}
	for _, kind := range [][2]string{{"sid", "sid-3"}, {"sub", "bob"}} {
		key := indexSetOf(rs, kind[0], kind[1])
		if members := rs.client.ZRange(ctx, key, 0, -1).Val(); !slices.Equal(members, []string{IDHash(bob)}) {
			t.Fatalf("%s index after DeleteBySIDAndSubject(sid-3, alice) holds %d members, want bob's session only", kind[0], len(members))
		}
		if members := legacyMembers(t, rs, kind[0], kind[1]); !slices.Equal(members, []string{IDHash(bob)}) {
			t.Fatalf("plain %s index after DeleteBySIDAndSubject(sid-3, alice) holds %d members, want bob's session only", kind[0], len(members))
		}
	}
	wantIndexSets(t, rs, 4, "after DeleteBySIDAndSubject (sid-3's and bob's, sorted and plain)")
	if err := st.Delete(ctx, bob); err != nil {
		t.Fatal(err)
	}
	expectNoKeys(t, rs, "the last logout")
}

// A subject who logs in again and again, each session idling out, keeps only its live
// sessions in its index: the set lives no longer than its newest member's coverage, and
// while a long-lived session keeps it alive, every write prunes the members that ended.
func testSubjectIndexStaysBounded(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	key := indexSetOf(rs, "sub", "alice")
	login := func(i, want int) {
		t.Helper()
		saveIndexed(t, st, clock, "sid-"+string(rune('a'+i)), "alice")
		if n := rs.client.ZCard(ctx, key).Val(); n != int64(want) {
			t.Fatalf("login %d: alice's index holds %d members, want %d (the others ended)", i, n, want)
		}
		if ttl := rs.client.PTTL(ctx, key).Val(); want == 1 && (ttl <= 0 || ttl > 2*suiteIdle) {
			t.Fatalf("login %d: alice's index lives %v, want at most the coverage %v", i, ttl, 2*suiteIdle)
		}
		advance(2*suiteIdle + ms(50))
	}
	for i := range 2 {
		login(i, 1)
	}
	saveIndexed(t, withIdle(t, rs, time.Hour), clock, "sid-long", "alice")
	for i := 2; i < 5; i++ {
		login(i, 2) // the long-lived session and the newest
	}
}

// A record never outlives its index coverage: once the coverage has passed, whatever
// its idle TTL says, Get and Touch find it gone (its index entries may be pruned).
func testRecordNeverOutlivesItsCoverage(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	got, touched := saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-1", "alice")
	updated := saveIndexed(t, st, clock, "sid-1", "alice")
	for _, id := range []string{got, touched, updated} {
		rs.client.HSet(ctx, rs.recordKey(IDHash(id)), "c", clock.Now().Add(ms(100)).UnixMilli())
	}
	// Update keeps the coverage (only an extension, after the index sets, raises it) and
	// caps the new TTL to it, so the record expires with it without any Get.
	rec := sampleRecord(clock.Now(), "alice")
	rec.SID, rec.Subject = "sid-1", "alice"
	if err := st.Update(ctx, updated, rec); err != nil {
		t.Fatal(err)
	}
	if ttl := rs.client.PTTL(ctx, rs.recordKey(IDHash(updated))).Val(); ttl <= 0 || ttl > ms(100) {
		t.Fatalf("an updated record lives %v, past its coverage (%v)", ttl, ms(100))
	}
	advance(ms(150))
	if _, err := st.Get(ctx, got); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get past the coverage = %v, want ErrNotFound", err)
	}
	if live, err := st.Touch(ctx, IDHash(touched)); err != nil || live {
		t.Fatalf("Touch past the coverage = %v, %v; want gone", live, err)
	}
}

// Replicas of the previous release (a rolling update, a rollback) look sessions up in
// the plain index sets only: every session a new replica saves is in them, with the TTL
// that release gave them (to the absolute expiry), so that release's back-channel
// logout (SMEMBERS, then DEL of each record) ends it; and a session ended by a new
// replica, by logout or by index, leaves no member behind in them.
func testPreviousReleaseFindsNewSessions(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	a, b := saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-2", "alice")
	c, d := saveIndexed(t, st, clock, "sid-1", "bob"), saveIndexed(t, st, clock, "sid-3", "carol")
	if got := legacyMembers(t, rs, "sub", "alice"); !slices.Equal(got, sortedHashes(a, b)) {
		t.Fatalf("alice's plain index holds %d members, want her 2 sessions", len(got))
	}
	if got := legacyMembers(t, rs, "sid", "sid-1"); !slices.Equal(got, sortedHashes(a, c)) {
		t.Fatalf("sid-1's plain index holds %d members, want its 2 sessions", len(got))
	}
	left := sampleRecord(clock.Now(), "").AbsoluteExpiry.Sub(clock.Now())
	if ttl := rs.client.PTTL(ctx, legacySetOf(rs, "sub", "alice")).Val(); ttl < left-time.Minute || ttl > left {
		t.Fatalf("alice's plain index lives %v, want the time to the absolute expiry (%v)", ttl, left)
	}

	if err := st.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := legacyMembers(t, rs, "sid", "sid-1"); !slices.Equal(got, []string{IDHash(a)}) {
		t.Fatalf("sid-1's plain index after a logout holds %d members, want 1", len(got))
	}
	if _, err := st.DeleteBySubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, ix := range [][2]string{{"sid", "sid-1"}, {"sid", "sid-2"}, {"sub", "alice"}, {"sub", "bob"}} {
		if got := legacyMembers(t, rs, ix[0], ix[1]); len(got) != 0 {
			t.Fatalf("%s %s's plain index holds %d members after its sessions ended", ix[0], ix[1], len(got))
		}
	}

	oldReleaseDeleteBySubject(t, rs, "carol")
	if _, err := st.Get(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after the previous release's DeleteBySubject = %v, want ErrNotFound", err)
	}
}

// oldReleaseDeleteBySubject ends the sessions of sub as the release before sorted
// indexes does: the members of the plain set, each record deleted, then the set.
func oldReleaseDeleteBySubject(t *testing.T, rs *redisStore, sub string) {
	t.Helper()
	ctx := t.Context()
	for _, m := range legacyMembers(t, rs, "sub", sub) {
		if err := rs.client.Del(ctx, rs.recordKey(m)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.client.Del(ctx, legacySetOf(rs, "sub", sub)).Err(); err != nil {
		t.Fatal(err)
	}
}

// Index sets written by versions before sorted indexes (plain sets, records without
// coverage) keep working after an upgrade: their records open, update and slide, new
// sessions of the same subject are indexed beside them without a WRONGTYPE, and every
// DeleteBy* finds and drains them.
func testLegacyIndexSetsStillWork(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	old1, old2 := mustID(t), mustID(t)
	writeLegacy(t, rs, old1, "sid-1", "alice")
	writeLegacy(t, rs, old2, "sid-2", "alice")
	fresh := saveIndexed(t, st, clock, "sid-1", "alice")
	if _, err := st.Get(ctx, old1); err != nil {
		t.Fatalf("Get of a record written before the upgrade: %v", err)
	}
	rec := sampleRecord(clock.Now(), "alice")
	rec.SID, rec.Subject = "sid-2", "alice"
	if err := st.Update(ctx, old2, rec); err != nil {
		t.Fatalf("Update of a record written before the upgrade: %v", err)
	}
	got, err := st.DeleteBySIDAndSubject(ctx, "sid-1", "alice")
	if err != nil || !slices.Equal(got, sortedHashes(old1, fresh)) {
		t.Fatalf("DeleteBySIDAndSubject over old and new sets = %v, %v; want both sid-1 sessions", got, err)
	}
	if got, err = st.DeleteBySubject(ctx, "alice"); err != nil || !slices.Equal(got, []string{IDHash(old2)}) {
		t.Fatalf("DeleteBySubject over old and new sets = %v, %v; want the updated old session", got, err)
	}
	if _, err := st.DeleteBySID(ctx, "sid-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeleteBySID(ctx, "sid-2"); err != nil {
		t.Fatal(err)
	}
	expectNoKeys(t, rs, "draining old and new sets")
}

// writeLegacy stores a session as versions before sorted indexes did: a record without
// coverage or index names, and its id hash in plain sid and subject sets that live an
// hour.
func writeLegacy(t *testing.T, rs *redisStore, id, sid, sub string) {
	t.Helper()
	ctx := context.Background()
	rec := sampleRecord(rs.now(), sub)
	rec.SID, rec.Subject = sid, sub
	sealed, err := sealRecord(rs.keys, IDHash(id), rec)
	if err != nil {
		t.Fatal(err)
	}
	key := rs.recordKey(IDHash(id))
	rs.client.HSet(ctx, key, "v", sealed, "a", rec.AbsoluteExpiry.UnixMilli())
	rs.client.PExpire(ctx, key, rs.idle)
	for _, ix := range [][2]string{{"sid", sid}, {"sub", sub}} {
		set := rs.indexKey(&rs.keys.keys[0], ix[0], ix[1])
		rs.client.SAdd(ctx, set, IDHash(id))
		rs.client.PExpire(ctx, set, time.Hour)
	}
}
