package session

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// memoFixture is a memo over a one-key codec and a cookie value of that codec.
func memoFixture(t *testing.T, maxAge time.Duration, maxEntries int) (*CookieMemo, string, string) {
	t.Helper()
	codec := NewCookieCodec(mustRing(t, newTestKey(t)), maxAge)
	id := mustID(t)
	v, err := codec.Encode(testCookie, id)
	if err != nil {
		t.Fatal(err)
	}
	return NewCookieMemo(codec, maxEntries), id, v
}

// blind makes m's codec unable to open anything: what it still decodes, it remembered.
func blind(t *testing.T, m *CookieMemo) {
	t.Helper()
	m.codec = NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour)
}

func TestCookieMemoRemembersWhatTheCodecOpened(t *testing.T) {
	m, id, v := memoFixture(t, time.Hour, 0)
	d, err := m.DecodeID(testCookie, v)
	if err != nil || d.ID != id || d.IDHash != IDHash(id) || d.Stale {
		t.Fatalf("first decode = %+v, %v; want id %q", d, err, id)
	}
	blind(t, m)
	if d, err := m.DecodeID(testCookie, v); err != nil || d.ID != id || d.IDHash != IDHash(id) {
		t.Fatalf("remembered decode = %+v, %v; want id %q", d, err, id)
	}
	if m.Len() != 1 {
		t.Fatalf("memo holds %d values, want 1", m.Len())
	}
}

// TestCookieMemoNeverHoldsARefusedValue: forged, tampered, truncated and other-name values
// are refused as the codec refuses them and never enter the memo (a flood of them cannot
// grow it or evict a valid entry).
func TestCookieMemoNeverHoldsARefusedValue(t *testing.T) {
	m, id, v := memoFixture(t, time.Hour, 0)
	other := NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour)
	forged, err := other.Encode(testCookie, id)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := m.codec.Encode(testCookie, "")
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(v)
	tampered[len(tampered)/2] ^= 1
	bad := []string{forged, string(tampered), v[:len(v)-4], "", "not base64!", strings.Repeat("A", MaxCookieValue+1), empty}
	for range 100 {
		for _, b := range bad {
			if _, err := m.DecodeID(testCookie, b); !errors.Is(err, ErrCookieInvalid) {
				t.Fatalf("a refused value gave %v, want ErrCookieInvalid", err)
			}
		}
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("memo holds %d values after a flood of refused ones, want 0", n)
	}
}

// TestCookieMemoKeepsTheCookieName: a value remembered for one cookie name is not served
// for another (the codec authenticates the name; the memo must too).
func TestCookieMemoKeepsTheCookieName(t *testing.T) {
	m, _, v := memoFixture(t, time.Hour, 0)
	if _, err := m.DecodeID(testCookie, v); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DecodeID("other", v); !errors.Is(err, ErrCookieInvalid) {
		t.Fatalf("a value under another cookie name gave %v, want ErrCookieInvalid", err)
	}
}

// TestCookieMemoComparesTheWholeValue: an entry is served only for the exact value it was
// made for, even if it sat under that value's key (a digest collision).
func TestCookieMemoComparesTheWholeValue(t *testing.T) {
	m, _, v := memoFixture(t, time.Hour, 0)
	other, err := m.codec.Encode(testCookie, mustID(t))
	if err != nil {
		t.Fatal(err)
	}
	m.remember(memoKey(other), memoEntry{name: testCookie, value: v, id: "someone-else", idHash: IDHash("someone-else"), until: time.Now().Unix() + 3600})
	blind(t, m)
	if d, err := m.DecodeID(testCookie, other); err == nil {
		t.Fatalf("a colliding entry was served: %+v", d)
	}
}

// TestCookieMemoForgetsAnExpiredValue: an entry is served only while the codec would still
// open the value (its signed timestamp plus the max age).
func TestCookieMemoForgetsAnExpiredValue(t *testing.T) {
	m, id, v := memoFixture(t, time.Hour, 0)
	if d, err := m.DecodeID(testCookie, v); err != nil || d.ID != id {
		t.Fatalf("decode = %+v, %v", d, err)
	}
	m.now = func() time.Time { return time.Now().Add(time.Hour + 2*time.Second) }
	blind(t, m)
	if d, err := m.DecodeID(testCookie, v); err == nil {
		t.Fatalf("an expired value was served from the memo: %+v", d)
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("memo holds %d values, want the expired one dropped", n)
	}
	// Within the age: served.
	m2, id2, v2 := memoFixture(t, time.Hour, 0)
	if _, err := m2.DecodeID(testCookie, v2); err != nil {
		t.Fatal(err)
	}
	m2.now = func() time.Time { return time.Now().Add(time.Hour - 5*time.Second) }
	blind(t, m2)
	if d, err := m2.DecodeID(testCookie, v2); err != nil || d.ID != id2 {
		t.Fatalf("a value within its age = %+v, %v; want it served", d, err)
	}
}

func TestCookieMemoIsBounded(t *testing.T) {
	m, _, _ := memoFixture(t, time.Hour, 3)
	for range 20 {
		v, err := m.codec.Encode(testCookie, mustID(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.DecodeID(testCookie, v); err != nil {
			t.Fatal(err)
		}
		if n := m.Len(); n > 3 {
			t.Fatalf("memo holds %d values, more than its bound 3", n)
		}
	}
}

// TestCookieMemoKeepsStale: a value opened by an older key stays "stale" when remembered,
// so the handler keeps re-sealing it.
func TestCookieMemoKeepsStale(t *testing.T) {
	oldKey := newTestKey(t)
	old := NewCookieCodec(mustRing(t, oldKey), time.Hour)
	id := mustID(t)
	v, err := old.Encode(testCookie, id)
	if err != nil {
		t.Fatal(err)
	}
	m := NewCookieMemo(NewCookieCodec(mustRing(t, newTestKey(t), oldKey), time.Hour), 0)
	for i := range 2 {
		if d, err := m.DecodeID(testCookie, v); err != nil || d.ID != id || !d.Stale {
			t.Fatalf("decode %d = %+v, %v; want id and stale", i, d, err)
		}
		blind(t, m)
	}
}

// BenchmarkSessionCookieDecode: a session cookie opened by the codec, and found in the memo.
func BenchmarkSessionCookieDecode(b *testing.B) {
	codec := NewCookieCodec(mustRing(b, newTestKey(b)), 12*time.Hour)
	v, err := codec.Encode(testCookie, mustID(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var id string
			if _, err := codec.DecodeStale(testCookie, v, &id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memo", func(b *testing.B) {
		m := NewCookieMemo(codec, 0)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.DecodeID(testCookie, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
