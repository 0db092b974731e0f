package session

import (
	"slices"
	"testing"
	"time"
)

// hashesOf lists a listing's id hashes in its order.
func hashesOf(l Listing) []string {
	out := make([]string, 0, len(l.Sessions))
	for _, s := range l.Sessions {
		out = append(out, s.IDHash)
	}
	return out
}

// A subject's listing holds its live sessions (newest first, their records opened) and
// nothing of another subject or of the same sub at another provider, and finds records
// indexed under an older ring key.
func testListBySubject(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	older := saveIndexed(t, st, clock, "sid-1", "alice")
	advance(ms(5))
	rotated := withRing(t, rs, prependKey(t, rs.keys)) // older is indexed under the old key only
	newer := saveIndexed(t, rotated, clock, "sid-2", "alice")
	saveIndexed(t, st, clock, "sid-3", "bob")
	other := sampleRecord(clock.Now(), "alice")
	other.Provider, other.Subject = "a", "alice"
	if err := st.Save(ctx, mustID(t), other); err != nil {
		t.Fatal(err)
	}
	l, err := rotated.ListBySubject(ctx, SubjectKey("", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{IDHash(newer), IDHash(older)}; !slices.Equal(hashesOf(l), want) || l.Truncated {
		t.Fatalf("listing = %v (truncated %v); want %v, newest first", hashesOf(l), l.Truncated, want)
	}
	for _, s := range l.Sessions {
		if s.Record.Subject != "alice" || s.Record.Provider != "" || s.Record.RefreshToken == "" {
			t.Fatalf("listed record not opened as saved: %+v", s.Record)
		}
		if s.LastUsed.Before(s.Record.Created.Truncate(time.Minute)) || s.LastUsed.After(clock.Now()) {
			t.Fatalf("last used %v outside [created %v, now %v]", s.LastUsed, s.Record.Created, clock.Now())
		}
	}
	if l, err := st.ListBySubject(ctx, SubjectKey("a", "alice")); err != nil || len(l.Sessions) != 1 {
		t.Fatalf("provider a's alice: %v, %v; want her one session there", hashesOf(l), err)
	}
	if err := st.Delete(ctx, older); err != nil {
		t.Fatal(err)
	}
	if l, err := rotated.ListBySubject(ctx, "alice"); err != nil || !slices.Equal(hashesOf(l), []string{IDHash(newer)}) {
		t.Fatalf("after a logout the listing is %v, %v; want the other session only", hashesOf(l), err)
	}
	if l, err := st.ListBySubject(ctx, "nobody"); err != nil || len(l.Sessions) != 0 {
		t.Fatalf("unknown subject: %v, %v", hashesOf(l), err)
	}
}

// Above MaxListed sessions a listing holds MaxListed of them and says it was truncated.
func testListBySubjectIsBounded(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	for range MaxListed + 3 {
		saveIndexed(t, st, clock, "", "many")
	}
	l, err := st.ListBySubject(t.Context(), "many")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sessions) != MaxListed || !l.Truncated {
		t.Fatalf("listing of %d sessions holds %d, truncated %v; want %d and true", MaxListed+3, len(l.Sessions), l.Truncated, MaxListed)
	}
}

// DeleteByIDHashes ends exactly the sessions it names, returns only those it ended,
// ignores what is not an id hash, and leaves no index entry behind.
func testDeleteByIDHashes(t *testing.T, newStore newStoreFunc) {
	st, clock, _ := newStore(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	a, b := saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-2", "alice")
	got, err := st.DeleteByIDHashes(ctx, []string{IDHash(a), IDHash(mustID(t)), "s:../x"})
	if err != nil || !slices.Equal(got, []string{IDHash(a)}) {
		t.Fatalf("DeleteByIDHashes = %v, %v; want only the existing session's hash", got, err)
	}
	if _, err := st.Get(ctx, a); err == nil {
		t.Fatal("the deleted session is still readable")
	}
	if _, err := st.Get(ctx, b); err != nil {
		t.Fatalf("the other session ended too: %v", err)
	}
	if got, err := st.DeleteByIDHashes(ctx, []string{IDHash(a)}); err != nil || len(got) != 0 {
		t.Fatalf("a second delete reports %v, %v; want nothing ended", got, err)
	}
	if _, err := st.DeleteByIDHashes(ctx, []string{IDHash(b)}); err != nil {
		t.Fatal(err)
	}
	expectNoKeys(t, rs, "deleting every session by its hash")
}
