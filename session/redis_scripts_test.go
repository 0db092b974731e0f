package session

import (
	"slices"
	"testing"
)

// After the server lost its script cache (restart, failover, SCRIPT FLUSH), the
// deletions run again with EVAL, and their replies are what the DeleteBy* and Delete
// report and clean with: every ended session is returned, and no index entry stays.
// Embedded only: SCRIPT FLUSH would reach every user of a shared Redis.
func TestDeletionsAfterScriptCacheLoss(t *testing.T) {
	st, clock, _ := newSuiteEmbedded(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	a, b := saveIndexed(t, st, clock, "sid-1", "alice"), saveIndexed(t, st, clock, "sid-1", "bob")
	loggedOut := saveIndexed(t, st, clock, "sid-2", "carol")
	if err := rs.client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := st.DeleteBySID(ctx, "sid-1")
	if err != nil || !slices.Equal(got, sortedHashes(a, b)) {
		t.Fatalf("DeleteBySID after the script cache was lost = %v, %v; want both sessions", got, err)
	}
	if err := rs.client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, loggedOut); err != nil {
		t.Fatal(err)
	}
	expectNoKeys(t, rs, "deletions that had to load their script again")
}

// TestPingLoadsTheHotScripts: after the server lost its script cache, the next Ping (the
// readiness check; the start) loads the request path's scripts again, so the next read is
// one EVALSHA and not EVALSHA, NOSCRIPT, EVAL. Embedded only (SCRIPT FLUSH).
func TestPingLoadsTheHotScripts(t *testing.T) {
	st, _, _ := newSuiteEmbedded(t)
	rs := st.(*redisStore)
	ctx := t.Context()
	hashes := []string{getScript.Hash(), peekScript.Hash(), touchScript.Hash()}
	for range 2 { // the second round: loaded already, nothing to do
		if err := rs.client.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := st.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		have, err := rs.client.ScriptExists(ctx, hashes...).Result()
		if err != nil || !slices.Equal(have, []bool{true, true, true}) {
			t.Fatalf("after Ping the script cache holds %v, %v; want get, peek and touch", have, err)
		}
	}
}
