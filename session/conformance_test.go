package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// suiteUnit scales every duration of the suite (see ms). On a real Redis, advance sleeps
// and Redis expires keys in real time, so each "still alive" check has a margin of a few
// hundred units against a stalled test process; at 3 ms a unit that margin is 300–600 ms,
// which a loaded CI runner (race detector, parallel packages) has been seen to need. The
// embedded store fast-forwards and pays nothing for it.
const suiteUnit = 3 * time.Millisecond

// ms is n suite units: the suite's durations are written as the milliseconds they were
// designed in, so their ratios stay readable.
func ms(n int) time.Duration { return time.Duration(n) * suiteUnit }

// suiteIdle is the idle timeout of every suite store.
const suiteIdle = 500 * suiteUnit

// newStoreFunc builds a fresh, empty store for one test, its injected clock, and a hook
// that moves both the clock and the backend's TTLs forward.
type newStoreFunc func(t *testing.T) (Store, *fakeClock, func(time.Duration))

func TestEmbeddedStoreConformance(t *testing.T) {
	runStoreSuite(t, newSuiteEmbedded)
}

// TestRedisStoreConformance runs the suite on a real Redis when BFF_TEST_REDIS_URL is
// set (any form NewRedis accepts, e.g. redis://127.0.0.1:6379/15 or
// redis+cluster://127.0.0.1:7000). Each test uses its own random key prefix and
// deletes only its own keys.
func TestRedisStoreConformance(t *testing.T) {
	url := os.Getenv("BFF_TEST_REDIS_URL")
	if url == "" {
		t.Skip("BFF_TEST_REDIS_URL not set")
	}
	runStoreSuite(t, func(t *testing.T) (Store, *fakeClock, func(time.Duration)) {
		return newSuiteRedis(t, url)
	})
}

func newSuiteEmbedded(t *testing.T) (Store, *fakeClock, func(time.Duration)) {
	clock := newFakeClock(time.Now())
	s, m, err := newEmbedded(Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: suiteIdle, Now: clock.Now}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clock, func(d time.Duration) {
		clock.Advance(d)
		m.FastForward(d)
	}
}

func newSuiteRedis(t *testing.T, url string) (Store, *fakeClock, func(time.Duration)) {
	clock := newFakeClock(time.Now())
	prefix := "bfftest:" + rand.Text()[:12] + ":"
	st, err := NewRedis(t.Context(), Options{URL: url, Keys: mustRing(t, newTestKey(t)),
		IdleTimeout: suiteIdle, KeyPrefix: prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rs := st.(*redisStore)
		for _, k := range rawKeys(t, rs) {
			rs.client.Del(context.Background(), k)
		}
		_ = st.Close()
	})
	return st, clock, func(d time.Duration) {
		clock.Advance(d)
		time.Sleep(d)
	}
}

// runStoreSuite is THE store contract: every backend runs it.
func runStoreSuite(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, newStore newStoreFunc)
	}{
		{"SaveGetRoundTrip", testSaveGetRoundTrip},
		{"GetUnknownIsNotFound", testGetUnknownIsNotFound},
		{"IdleExpirySlidesOnGet", testIdleExpirySlidesOnGet},
		{"AbsoluteExpiryWinsOverSliding", testAbsoluteExpiryWinsOverSliding},
		{"AbsoluteExpiryFollowsInjectedClock", testAbsoluteExpiryFollowsInjectedClock},
		{"SavePastAbsoluteExpiryDeletes", testSavePastAbsoluteExpiryDeletes},
		{"Delete", testDelete},
		{"UpdateNeverBringsAnEndedSessionBack", testUpdateOfAnEndedSession},
		{"DeleteBySIDAndSubjectRemoveAllAndOnlyThose", testDeleteByIndexes},
		{"DeleteBySubjectFindsRecordsIndexedBeforeKeyRotation", testDeleteByIndexAfterRotation},
		{"DeleteBySIDAndSubjectEndsOnlySessionsMatchingBoth", testDeleteBySIDAndSubject},
		{"DeleteBySIDAndSubjectFindsRecordsIndexedBeforeKeyRotation", testDeleteBySIDAndSubjectAfterRotation},
		{"IndexesKeepProvidersApart", testIndexesKeepProvidersApart},
		{"DeleteByIndexReturnsOnlySessionsItEnded", testDeleteByIndexReturnsOnlyWhatItDeleted},
		{"LogoutLeavesNoIndex", testLogoutLeavesNoIndex},
		{"IdleExpiryLeavesNoIndex", testIdleExpiryLeavesNoIndex},
		{"UsedSessionStaysIndexed", testUsedSessionStaysIndexed},
		{"CoverageExtensionKeepsTheIdleTimeout", testExtensionKeepsTheIdleTimeout},
		{"DeleteByIndexCleansTheOtherIndex", testDeleteByIndexCleansTheOtherIndex},
		{"SubjectIndexStaysBounded", testSubjectIndexStaysBounded},
		{"RecordNeverOutlivesItsIndexCoverage", testRecordNeverOutlivesItsCoverage},
		{"LegacyIndexSetsStillWork", testLegacyIndexSetsStillWork},
		{"PreviousReleaseFindsNewSessions", testPreviousReleaseFindsNewSessions},
		{"ListBySubject", testListBySubject},
		{"ListBySubjectIsBounded", testListBySubjectIsBounded},
		{"DeleteByIDHashes", testDeleteByIDHashes},
		{"TakeTokenIsOneSharedBucketPerClient", testTakeToken},
		{"OnceDetectsReplay", testOnceDetectsReplay},
		{"LockIsExclusive", testLockIsExclusive},
		{"RenewExtendsLease", testRenewExtendsLease},
		{"ReleaseWakesWaiterPromptly", testReleaseWakesWaiter},
		{"LeaseExpiryEndsWaitUnlock", testLeaseExpiryEndsWait},
		{"WaitUnlockHonoursContext", testWaitUnlockHonoursContext},
		{"RenewAndReleaseAfterLossAreLockLost", testLockLost},
		{"StoreDumpRevealsNoIDTokenOrSubject", testDumpRevealsNothing},
		{"RecordSealedByOldKeyOpensAfterRotation", testOldKeyOpens},
		{"TamperedRecordIsNotFound", testTamperedRecord},
		{"RecordMovedToAnotherIDDoesNotOpen", testMovedRecord},
		{"OversizedStoredValueIsNotRead", testOversizedValue},
		{"ConcurrentSaveGet", testConcurrentSaveGet},
		{"Ping", testPing},
		{"PublishEndedReachesEveryWatcher", testPublishEnded},
		{"PublishRefreshedIsHeardAsRefreshed", testPublishRefreshed},
		{"TouchSlidesAndSeesTheEnd", testTouch},
		{"TouchManySlidesEachAndSeesTheEnd", testTouchMany},
		{"PeekReadsWithoutSliding", testPeek},
		{"PendingLoginIsTakenOnce", testLoginTakenOnce},
		{"PendingLoginExpires", testLoginExpires},
		{"ConcurrentTakesOfALoginHaveOneWinner", testLoginConcurrentTakes},
		{"PendingLoginIsSealedAndBoundToItsKey", testLoginSealed},
		{"PendingLoginCannotBeTakenWithoutItsBinding", testLoginBoundToItsBrowser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore)
		})
	}
}

func testSaveGetRoundTrip(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "rt")
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, rec, got)

	rec.AccessToken, rec.Refreshed = fakeJWT("AT-refreshed", 900), 2
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	if got, err = st.Get(ctx, id); err != nil {
		t.Fatal(err)
	}
	sameRecord(t, rec, got)
}

func testGetUnknownIsNotFound(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	for _, id := range []string{mustID(t), "", "not-an-id\x00\xff"} {
		_, err := st.Get(t.Context(), id)
		if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("Get(unknown %q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testIdleExpirySlidesOnGet(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	if err := st.Save(ctx, id, sampleRecord(clock.Now(), "idle")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // 2 x 300 > idle: alive only because each Get slides it
		advance(ms(300))
		if _, err := st.Get(ctx, id); err != nil {
			t.Fatalf("Get %d within idle timeout: %v", i, err)
		}
	}
	advance(suiteIdle + ms(200))
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after idle timeout = %v, want ErrNotFound", err)
	}
}

func testAbsoluteExpiryWinsOverSliding(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "abs")
	rec.AbsoluteExpiry = clock.Now().Add(ms(800))
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{ms(400), ms(300)} {
		advance(step)
		if _, err := st.Get(ctx, id); err != nil {
			t.Fatalf("Get before absolute expiry: %v", err)
		}
	}
	// Used 200 units ago, so well within the idle timeout, but past the absolute expiry.
	advance(ms(200))
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after absolute expiry = %v, want ErrNotFound", err)
	}
}

func testAbsoluteExpiryFollowsInjectedClock(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "clock")
	rec.AbsoluteExpiry = clock.Now().Add(time.Hour)
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour) // the backend's TTL has not moved: only the clock says so
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get past absolute expiry by the injected clock = %v, want ErrNotFound", err)
	}
	rs := st.(*redisStore)
	if n := rs.client.Exists(ctx, rs.recordKey(IDHash(id))).Val(); n != 0 {
		t.Fatal("Get of an absolutely expired record did not delete it")
	}
}

func testSavePastAbsoluteExpiryDeletes(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "past")
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	rec.AbsoluteExpiry = clock.Now().Add(-time.Second)
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after saving an expired record = %v, want ErrNotFound", err)
	}
	if err := st.Save(ctx, id, &Record{Subject: "x"}); err == nil {
		t.Fatal("Save of a record without AbsoluteExpiry succeeded")
	}
}

func testDelete(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	id, other := mustID(t), mustID(t)
	for _, x := range []string{id, other} {
		if err := st.Save(ctx, x, sampleRecord(clock.Now(), "del")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if _, err := st.Get(ctx, other); err != nil {
		t.Fatalf("Delete removed another record: %v", err)
	}
	if err := st.Delete(ctx, id); err != nil {
		t.Fatalf("Delete of an absent record = %v, want nil", err)
	}
}

// testUpdateOfAnEndedSession: Update replaces a live record, and writes nothing for one
// that was deleted (a logout racing a refresh) or never stored.
func testUpdateOfAnEndedSession(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	if err := st.Save(ctx, id, sampleRecord(clock.Now(), "v1")); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, id, sampleRecord(clock.Now(), "v2")); err != nil {
		t.Fatalf("Update of a live record: %v", err)
	}
	if got, err := st.Get(ctx, id); err != nil || got.Subject != "sub-v2" {
		t.Fatalf("Get after Update = %v, %v; want the updated record", got, err)
	}
	if err := st.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, id, sampleRecord(clock.Now(), "v3")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update after Delete = %v, want ErrNotFound", err)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete and Update = %v, want ErrNotFound: Update brought the session back", err)
	}
	if err := st.Update(ctx, mustID(t), sampleRecord(clock.Now(), "new")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update of a record never stored = %v, want ErrNotFound", err)
	}
}

func testDeleteByIndexes(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	type sess struct{ id, sid, sub string }
	a := sess{mustID(t), "sid-1", "alice"}
	b := sess{mustID(t), "sid-1", "bob"}
	c := sess{mustID(t), "sid-2", "alice"}
	d := sess{mustID(t), "sid-3", "carol"}
	e := sess{mustID(t), "", "dave"} // an IdP without sid
	for _, s := range []sess{a, b, c, d, e} {
		rec := sampleRecord(clock.Now(), s.sub)
		rec.SID, rec.Subject = s.sid, s.sub
		if err := st.Save(ctx, s.id, rec); err != nil {
			t.Fatal(err)
		}
	}
	alive := func(want ...sess) {
		t.Helper()
		for _, s := range []sess{a, b, c, d, e} {
			_, err := st.Get(ctx, s.id)
			if live := slices.Contains(want, s); live != (err == nil) {
				t.Fatalf("session %s/%s: alive=%v, Get err=%v", s.sid, s.sub, live, err)
			}
		}
	}

	got, err := st.DeleteBySID(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := sortedHashes(a.id, b.id); !slices.Equal(got, want) {
		t.Fatalf("DeleteBySID returned %v, want %v", got, want)
	}
	alive(c, d, e)

	got, err = st.DeleteBySubject(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// a's session ended already (DeleteBySID took it out of alice's index too): it is not
	// returned, or a caller would count a's session as ended twice.
	if !slices.Equal(got, []string{IDHash(c.id)}) {
		t.Fatalf("DeleteBySubject(alice) returned %v, want c only (a ended already)", got)
	}
	alive(d, e)

	for _, call := range []func() ([]string, error){
		func() ([]string, error) { return st.DeleteBySubject(ctx, "alice") },
		func() ([]string, error) { return st.DeleteBySID(ctx, "no-such-sid") },
		func() ([]string, error) { return st.DeleteBySID(ctx, "") },
	} {
		if got, err := call(); err != nil || len(got) != 0 {
			t.Fatalf("DeleteBy of an empty index = %v, %v; want nothing", got, err)
		}
	}
	if got, err = st.DeleteBySubject(ctx, "dave"); err != nil || len(got) != 1 {
		t.Fatalf("DeleteBySubject(dave) = %v, %v", got, err)
	}
	alive(d)
}

// A session that already ended (logged out by id, or expired) is still a member of its
// sid and subject indexes; a later back-channel logout naming it must not report it as
// ended again (the metrics would count one session twice).
func testDeleteByIndexReturnsOnlyWhatItDeleted(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	save := func(sid, sub string) string { return saveIndexed(t, st, clock, sid, sub) }
	loggedOut, live := save("sid-1", "alice"), save("sid-1", "alice")
	if err := st.Delete(ctx, loggedOut); err != nil {
		t.Fatal(err)
	}
	if got, err := st.DeleteBySID(ctx, "sid-1"); err != nil || !slices.Equal(got, []string{IDHash(live)}) {
		t.Fatalf("DeleteBySID = %v, %v; want only the live session", got, err)
	}
	for _, call := range []func() ([]string, error){
		func() ([]string, error) { return st.DeleteBySID(ctx, "sid-1") },
		func() ([]string, error) { return st.DeleteBySubject(ctx, "alice") },
	} {
		if got, err := call(); err != nil || len(got) != 0 {
			t.Fatalf("a second DeleteBy of ended sessions = %v, %v; want nothing", got, err)
		}
	}
	save("sid-2", "bob")
	advance(suiteIdle + 100*time.Millisecond) // expired in the store, still indexed
	for _, call := range []func() ([]string, error){
		func() ([]string, error) { return st.DeleteBySIDAndSubject(ctx, "sid-2", "bob") },
		func() ([]string, error) { return st.DeleteBySubject(ctx, "bob") },
	} {
		if got, err := call(); err != nil || len(got) != 0 {
			t.Fatalf("DeleteBy of an expired session = %v, %v; want nothing", got, err)
		}
	}
}

func sortedHashes(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = IDHash(id)
	}
	slices.Sort(out)
	return out
}

func testDeleteByIndexAfterRotation(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	old := st.(*redisStore)
	id := mustID(t)
	if err := st.Save(ctx, id, sampleRecord(clock.Now(), "rot")); err != nil {
		t.Fatal(err)
	}
	rotated := withRing(t, old, prependKey(t, old.keys))
	got, err := rotated.DeleteBySubject(ctx, "sub-rot")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{IDHash(id)}) {
		t.Fatalf("DeleteBySubject after rotation = %v, want the record indexed under the old key", got)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record survived DeleteBySubject: %v", err)
	}
}

// A logout token naming a sid AND a sub ends only the sessions that have both: a sid
// shared with another subject's session (an IdP bug, or a forged pairing) ends nothing
// of that other subject. More members than one index batch prove the scan goes on; as
// the suite's idle timeout is short, that part is checked through the index.
func testDeleteBySIDAndSubject(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	save := func(sid, sub string) string { return saveIndexed(t, st, clock, sid, sub) }
	// A small set, checked record by record.
	a1, b1, a2 := save("sid-1", "alice"), save("sid-1", "bob"), save("sid-2", "alice")
	for _, pair := range [][2]string{{"sid-1", "carol"}, {"sid-2", "bob"}, {"", "alice"}, {"sid-1", ""}} {
		if got, err := st.DeleteBySIDAndSubject(ctx, pair[0], pair[1]); err != nil || len(got) != 0 {
			t.Fatalf("DeleteBySIDAndSubject(%q, %q) = %d ended, %v; want none", pair[0], pair[1], len(got), err)
		}
	}
	got, err := st.DeleteBySIDAndSubject(ctx, "sid-1", "alice")
	if err != nil || !slices.Equal(got, []string{IDHash(a1)}) {
		t.Fatalf("DeleteBySIDAndSubject(sid-1, alice) = %v, %v; want alice's sid-1 session only", got, err)
	}
	if _, err := st.Get(ctx, a1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("alice's sid-1 session survived: %v", err)
	}
	for _, id := range []string{b1, a2} {
		if _, err := st.Get(ctx, id); err != nil {
			t.Fatalf("a session of another subject or sid was ended: %v", err)
		}
	}

	// More than one batch of each subject under one sid, saved with a long idle timeout:
	// only records that still exist count as deleted, and on a real Redis the suite's
	// 500 ms could pass while 552 records are written.
	long := withIdle(t, st.(*redisStore), time.Minute)
	var alice, bob []string
	for range indexBatch + 20 {
		for _, p := range []struct {
			sub string
			ids *[]string
		}{{"alice", &alice}, {"bob", &bob}} {
			id := mustID(t)
			rec := sampleRecord(clock.Now(), p.sub)
			rec.SID, rec.Subject = "sid-3", p.sub
			if err := long.Save(ctx, id, rec); err != nil {
				t.Fatal(err)
			}
			*p.ids = append(*p.ids, id)
		}
	}
	got, err = st.DeleteBySIDAndSubject(ctx, "sid-3", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if want := sortedHashes(alice...); !slices.Equal(got, want) {
		t.Fatalf("DeleteBySIDAndSubject(sid-3, alice) ended %d sessions, want alice's %d", len(got), len(want))
	}
	// bob's sessions all survived, and the sid index still finds every one of them.
	if got, err := st.DeleteBySID(ctx, "sid-3"); err != nil || !slices.Equal(got, sortedHashes(bob...)) {
		t.Fatalf("DeleteBySID(sid-3) after = %d ended, %v; want bob's %d", len(got), err, len(bob))
	}
}

func testDeleteBySIDAndSubjectAfterRotation(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	if err := st.Save(ctx, id, sampleRecord(clock.Now(), "rot")); err != nil {
		t.Fatal(err)
	}
	rotated := withRing(t, st.(*redisStore), prependKey(t, st.(*redisStore).keys))
	got, err := rotated.DeleteBySIDAndSubject(ctx, "sid-rot", "sub-rot")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{IDHash(id)}) {
		t.Fatalf("DeleteBySIDAndSubject after rotation = %v, want the record indexed under the old key", got)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record survived: %v", err)
	}
}

func testOnceDetectsReplay(t *testing.T, newStore newStoreFunc) {
	st, _, advance := newStore(t)
	ctx := t.Context()
	steps := []struct {
		name    string
		key     string
		advance time.Duration
		want    bool
	}{
		{name: "first sight", key: "jti-1", want: true},
		{name: "replay", key: "jti-1", want: false},
		{name: "other key", key: "jti-2", want: true},
		{name: "replay after ttl", key: "jti-1", advance: ms(400), want: true},
		{name: "replay of the renewed key", key: "jti-1", want: false},
	}
	for _, s := range steps {
		advance(s.advance)
		got, err := st.Once(ctx, s.key, ms(300))
		if err != nil || got != s.want {
			t.Fatalf("%s: Once = %v, %v; want %v", s.name, got, err, s.want)
		}
	}
}

func testLockIsExclusive(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	l, err := st.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lock(ctx, id, time.Minute); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("second Lock = %v, want ErrLockHeld", err)
	}
	other, err := st.Lock(ctx, mustID(t), time.Minute)
	if err != nil {
		t.Fatalf("Lock of another session: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l2, err := st.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	for _, x := range []Lock{l2, other} {
		if err := x.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func testRenewExtendsLease(t *testing.T, newStore newStoreFunc) {
	st, _, advance := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	lease := ms(300)
	l, err := st.Lock(ctx, id, lease)
	if err != nil {
		t.Fatal(err)
	}
	advance(ms(200))
	if err := l.Renew(ctx, lease); err != nil {
		t.Fatal(err)
	}
	advance(ms(200)) // 400 after Lock: held only thanks to Renew
	if _, err := st.Lock(ctx, id, lease); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("Lock after Renew = %v, want ErrLockHeld", err)
	}
	advance(ms(250))
	l2, err := st.Lock(ctx, id, lease)
	if err != nil {
		t.Fatalf("Lock after the renewed lease ended: %v", err)
	}
	_ = l2.Release(ctx)
}

func testReleaseWakesWaiter(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	rs.pollMin, rs.pollMax = time.Minute, time.Minute // only the PUBLISH can wake it
	id := mustID(t)
	l, err := st.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.WaitUnlock(ctx, id) }()
	select {
	case err := <-done:
		t.Fatalf("WaitUnlock returned while the lock was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select { // with a 1-minute poll, waking within 5 s can only be the PUBLISH's doing
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Release did not wake WaitUnlock")
	}
	if err := st.WaitUnlock(ctx, id); err != nil {
		t.Fatalf("WaitUnlock of a free lock: %v", err)
	}
}

func testLeaseExpiryEndsWait(t *testing.T, newStore newStoreFunc) {
	st, _, advance := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	rs.pollMin, rs.pollMax = 20*time.Millisecond, 50*time.Millisecond
	id := mustID(t)
	if _, err := st.Lock(ctx, id, ms(300)); err != nil { // never released
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.WaitUnlock(ctx, id) }()
	select {
	case err := <-done:
		t.Fatalf("WaitUnlock returned while the lease was live: %v", err)
	case <-time.After(ms(100)):
	}
	advance(ms(400))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("WaitUnlock did not end when the lease expired")
	}
}

func testWaitUnlockHonoursContext(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	id := mustID(t)
	l, err := st.Lock(t.Context(), id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = st.WaitUnlock(ctx, id)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitUnlock with an ending ctx = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("WaitUnlock outlived its ctx by %v", waited)
	}
}

func testLockLost(t *testing.T, newStore newStoreFunc) {
	st, _, advance := newStore(t)
	ctx := t.Context()
	id := mustID(t)
	l, err := st.Lock(ctx, id, ms(200))
	if err != nil {
		t.Fatal(err)
	}
	advance(ms(300))
	next, err := st.Lock(ctx, id, time.Minute)
	if err != nil {
		t.Fatalf("Lock after the lease expired: %v", err)
	}
	if err := l.Renew(ctx, time.Minute); !errors.Is(err, ErrLockLost) {
		t.Fatalf("Renew after loss = %v, want ErrLockLost", err)
	}
	if err := l.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("Release after loss = %v, want ErrLockLost", err)
	}
	if _, err := st.Lock(ctx, id, time.Minute); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("the stale holder's Release freed the new holder's lock: Lock = %v", err)
	}
	if err := next.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := next.Release(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("second Release = %v, want ErrLockLost", err)
	}
}

func testDumpRevealsNothing(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "dump")
	rec.Subject, rec.SID = "alice@example.com", "idp-session-42"
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lock(ctx, id, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Once(ctx, "jti-dump", time.Minute); err != nil {
		t.Fatal(err)
	}
	dump := dumpStore(t, rs)
	if !strings.Contains(dump, IDHash(id)) {
		t.Fatalf("dump does not hold the record at all:\n%s", dump)
	}
	secrets := map[string]string{
		"session id": id, "access token": rec.AccessToken, "refresh token": rec.RefreshToken,
		"id token": rec.IDToken, "subject": rec.Subject, "sid": rec.SID,
		"sha256(subject)": sha256Hex(rec.Subject), "sha256(sid)": sha256Hex(rec.SID),
		"claim": "ada@example.com",
	}
	for what, s := range secrets {
		if strings.Contains(dump, s) {
			t.Errorf("store dump contains the %s in clear", what)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func testOldKeyOpens(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	old := st.(*redisStore)
	id := mustID(t)
	rec := sampleRecord(clock.Now(), "old")
	if err := st.Save(ctx, id, rec); err != nil {
		t.Fatal(err)
	}
	rotated := withRing(t, old, prependKey(t, old.keys))
	got, err := rotated.Get(ctx, id)
	if err != nil {
		t.Fatalf("record sealed by the old key does not open after rotation: %v", err)
	}
	sameRecord(t, rec, got)
	// Get re-sealed it with the new key on use: the old ring alone cannot open it any
	// more (so the old key can be retired), the rotated one still can.
	if _, err := old.Get(ctx, id); !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnreadable) ||
		!errors.Is(err, ErrRecordKeyUnknown) {
		t.Fatalf("the record was not re-sealed with the new key on use: %v", err)
	}
	if got, err = rotated.Get(ctx, id); err != nil {
		t.Fatalf("re-sealed record: %v", err)
	}
	sameRecord(t, rec, got)
}

func testTamperedRecord(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	id := mustID(t)
	if err := st.Save(ctx, id, sampleRecord(clock.Now(), "tamper")); err != nil {
		t.Fatal(err)
	}
	key := rs.recordKey(IDHash(id))
	v := []byte(rs.client.HGet(ctx, key, "v").Val())
	v[len(v)/2] ^= 1
	rs.client.HSet(ctx, key, "v", v)
	_, err := st.Get(ctx, id)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnreadable) || !errors.Is(err, ErrRecordForged) {
		t.Fatalf("Get of a tampered record = %v, want ErrNotFound, ErrUnreadable and ErrRecordForged", err)
	}
}

func testMovedRecord(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	victim, attacker := mustID(t), mustID(t)
	if err := st.Save(ctx, victim, sampleRecord(clock.Now(), "victim")); err != nil {
		t.Fatal(err)
	}
	fields := rs.client.HGetAll(ctx, rs.recordKey(IDHash(victim))).Val()
	dst := rs.recordKey(IDHash(attacker))
	rs.client.HSet(ctx, dst, fields)
	rs.client.PExpire(ctx, dst, time.Minute)
	_, err := st.Get(ctx, attacker)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnreadable) || !errors.Is(err, ErrRecordForged) {
		t.Fatalf("a record copied under another id opened, or not as forged: %v", err)
	}
}

func testOversizedValue(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	rs := st.(*redisStore)
	id := mustID(t)
	key := rs.recordKey(IDHash(id))
	rs.client.HSet(ctx, key, "v", strings.Repeat("A", MaxSealedRecord+1),
		"a", clock.Now().Add(time.Hour).UnixMilli())
	rs.client.PExpire(ctx, key, time.Minute)
	_, err := st.Get(ctx, id)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrUnreadable) {
		t.Fatalf("Get of an oversized value = %v, want ErrNotFound and ErrUnreadable", err)
	}
	big := sampleRecord(clock.Now(), "big")
	big.IDToken = strings.Repeat("x", MaxSealedRecord)
	if err := st.Save(ctx, mustID(t), big); err == nil {
		t.Fatal("Save of an oversized record succeeded")
	}
}

func testConcurrentSaveGet(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	ids := []string{mustID(t), mustID(t), mustID(t)}
	for _, id := range ids {
		if err := st.Save(ctx, id, sampleRecord(clock.Now(), "conc")); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				id := ids[(g+i)%len(ids)]
				rec := sampleRecord(clock.Now(), fmt.Sprint("conc", g, i))
				if err := st.Save(ctx, id, rec); err != nil {
					errs <- err
				}
				if _, err := st.Get(ctx, id); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testPing(t *testing.T, newStore newStoreFunc) {
	st, _, _ := newStore(t)
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// withRing returns a store over the same backend and prefix with another key ring.
func withRing(t *testing.T, s *redisStore, ring *KeyRing) *redisStore {
	t.Helper()
	opts, err := Options{Client: s.client, Keys: ring, IdleTimeout: s.idle, KeyPrefix: s.prefix,
		OpTimeout: s.opTimeout, Now: s.now}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newRedisStore(opts, s.client, nil)
}

// withIdle returns a store over the same backend, prefix and keys with another idle
// timeout.
func withIdle(t *testing.T, s *redisStore, idle time.Duration) *redisStore {
	t.Helper()
	opts, err := Options{Client: s.client, Keys: s.keys, IdleTimeout: idle, KeyPrefix: s.prefix,
		OpTimeout: s.opTimeout, Now: s.now}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newRedisStore(opts, s.client, nil)
}

// prependKey returns ring rotated: a fresh key in front of all of ring's keys.
func prependKey(t *testing.T, ring *KeyRing) *KeyRing {
	t.Helper()
	fresh := mustRing(t, newTestKey(t))
	return &KeyRing{keys: append(slices.Clone(fresh.keys), ring.keys...)}
}

// rawKeys lists every key under the store's prefix, on every master of a Cluster.
func rawKeys(t *testing.T, s *redisStore) []string {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex
		keys []string
	)
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, s.prefix+"*", 100).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		t.Fatalf("cannot scan a %T", c)
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// dumpStore renders every key and value under the store's prefix.
func dumpStore(t *testing.T, s *redisStore) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, k := range rawKeys(t, s) {
		var v any
		switch typ := s.client.Type(ctx, k).Val(); typ {
		case "string":
			v = s.client.Get(ctx, k).Val()
		case "hash":
			v = s.client.HGetAll(ctx, k).Val()
		case "set":
			v = s.client.SMembers(ctx, k).Val()
		case "zset":
			v = s.client.ZRangeWithScores(ctx, k, 0, -1).Val()
		default:
			t.Fatalf("unexpected key type %q", typ)
		}
		fmt.Fprintf(&b, "%s = %v\n", k, v)
	}
	return b.String()
}

// TakeToken is the login rate limit's shared budget (GCRA): burst at once, then one per
// interval, per scope and client; a long pause refills only up to the burst; the key
// names no client address. Only the injected clock moves (keys live minutes here).
func testTakeToken(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	const every, burst = time.Minute, 3
	take := func(scope, client string, want bool, wantWait time.Duration) {
		t.Helper()
		ok, wait, err := rs.TakeToken(ctx, scope, client, every, burst)
		if err != nil || ok != want || wait != wantWait {
			t.Fatalf("TakeToken(%s, %s) = %v, %v, %v; want %v, %v", scope, client, ok, wait, err, want, wantWait)
		}
	}
	for range burst {
		take("app-a", "203.0.113.7", true, 0)
	}
	take("app-a", "203.0.113.7", false, every)
	take("app-a", "203.0.113.8", true, 0) // another client
	take("app-b", "203.0.113.7", true, 0) // another deployment on the same Redis
	clock.Advance(every - time.Second)
	take("app-a", "203.0.113.7", false, time.Second)
	clock.Advance(time.Second)
	take("app-a", "203.0.113.7", true, 0)
	take("app-a", "203.0.113.7", false, every)
	clock.Advance(time.Hour)
	for range burst {
		take("app-a", "203.0.113.7", true, 0)
	}
	take("app-a", "203.0.113.7", false, every)
	for _, k := range rawKeys(t, rs) {
		if strings.Contains(k, "203.0.113") || strings.Contains(k, "app-a") {
			t.Fatalf("a rate-limit key names the client or scope: %s", k)
		}
	}
}

// saveIndexed saves a fresh record of subject sub in IdP session sid and returns its id.
func saveIndexed(t *testing.T, st Store, clock *fakeClock, sid, sub string) string {
	t.Helper()
	return saveIndexedUntil(t, st, clock, sid, sub, time.Time{})
}

// saveIndexedUntil is saveIndexed with the absolute expiry (zero: sampleRecord's).
func saveIndexedUntil(t *testing.T, st Store, clock *fakeClock, sid, sub string, absolute time.Time) string {
	t.Helper()
	id := mustID(t)
	rec := sampleRecord(clock.Now(), sub)
	rec.SID, rec.Subject = sid, sub
	if !absolute.IsZero() {
		rec.AbsoluteExpiry = absolute
	}
	if err := st.Save(t.Context(), id, rec); err != nil {
		t.Fatal(err)
	}
	return id
}

// Two providers may issue the same sub and sid to different people: each index key is
// qualified by the record's provider, so deleting one provider's subject or sid never
// ends a session of the other, and the unnamed provider keeps the bare values.
func testIndexesKeepProvidersApart(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	ctx := t.Context()
	save := func(provider string) string {
		id := mustID(t)
		rec := sampleRecord(clock.Now(), "alice")
		rec.Provider, rec.SID, rec.Subject = provider, "sid-1", "alice"
		if err := st.Save(ctx, id, rec); err != nil {
			t.Fatal(err)
		}
		return id
	}
	plain, a, b := save(""), save("a"), save("b")
	if got, err := st.DeleteBySubject(ctx, SubjectKey("a", "alice")); err != nil || !slices.Equal(got, []string{IDHash(a)}) {
		t.Fatalf("DeleteBySubject(a:alice) = %v, %v; want provider a's session only", got, err)
	}
	if got, err := st.DeleteBySIDAndSubject(ctx, SIDKey("b", "sid-1"), SubjectKey("a", "alice")); err != nil || len(got) != 0 {
		t.Fatalf("a sid of provider b with a subject of provider a ended %v, %v; want none", got, err)
	}
	if got, err := st.DeleteBySID(ctx, SIDKey("b", "sid-1")); err != nil || !slices.Equal(got, []string{IDHash(b)}) {
		t.Fatalf("DeleteBySID(b:sid-1) = %v, %v; want provider b's session only", got, err)
	}
	if got, err := st.DeleteBySIDAndSubject(ctx, SIDKey("", "sid-1"), SubjectKey("", "alice")); err != nil || !slices.Equal(got, []string{IDHash(plain)}) {
		t.Fatalf("the unnamed provider's session is not found by the bare values: %v, %v", got, err)
	}
}
