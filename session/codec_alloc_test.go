//go:build !race

package session

import (
	"testing"
	"time"
)

// TestOpenCompactRecordAllocations: opening a realistic compact record (AES-GCM open and
// decode) allocates at most 18 times: the plaintext, the record, the JWTs' text, the
// claims map and what the one JSON claim needs; the other strings share the plaintext.
// 28 before they did. Not under -race (which allocates more).
func TestOpenCompactRecordAllocations(t *testing.T) {
	ring, idHash := mustRing(t, newTestKey(t)), IDHash(mustID(t))
	sealed, err := sealRecordAs(ring, idHash, realisticRecord(time.Now()), RecordCompact)
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		if _, err := openRecord(ring, idHash, sealed); err != nil {
			t.Fatal(err)
		}
	})
	if n > 18 {
		t.Fatalf("opening a compact record allocates %.0f times, want <= 18", n)
	}
}
