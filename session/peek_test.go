package session

import (
	"errors"
	"testing"
)

// testPeek: Peek reads a record and when it will end without sliding its idle expiry, so
// a session watched only by Peek (an open events stream) still ends after its idle timeout.
func testPeek(t *testing.T, newStore newStoreFunc) {
	st, clock, advance := newStore(t)
	ctx := t.Context()
	rec := &Record{Subject: "s", AccessToken: "at", Created: clock.Now(), AbsoluteExpiry: clock.Now().Add(4 * suiteIdle)}
	if err := st.Save(ctx, "peeked", rec); err != nil {
		t.Fatal(err)
	}
	h := IDHash("peeked")
	saved := clock.Now()
	for i := range 2 { // 2 × 0.4 idle: still live, and the end never moves
		advance(suiteIdle * 4 / 10)
		got, ends, err := st.Peek(ctx, h)
		if err != nil {
			t.Fatalf("peek %d: %v", i, err)
		}
		if got.Subject != "s" || got.AccessToken != "at" {
			t.Fatalf("peek %d: record %+v", i, got)
		}
		if !ends.After(clock.Now()) || ends.After(saved.Add(suiteIdle)) {
			t.Fatalf("peek %d: ends %v, want within (now, save + idle = %v]", i, ends, saved.Add(suiteIdle))
		}
	}
	advance(suiteIdle * 4 / 10) // 1.2 idle since the save: gone, since Peek did not slide
	if _, _, err := st.Peek(ctx, h); !errors.Is(err, ErrNotFound) {
		t.Fatalf("peek after the idle timeout = %v, want ErrNotFound", err)
	}
	if _, err := st.Get(ctx, "peeked"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after the idle timeout = %v, want ErrNotFound (Peek must not slide)", err)
	}
	if _, _, err := st.Peek(ctx, IDHash("never")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("peek unknown = %v, want ErrNotFound", err)
	}
}
