package session

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injected clock of the tests. Safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestKey returns a fresh base64 key.
func newTestKey(t testing.TB) string {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustRing parses keys or fails the test.
func mustRing(t testing.TB, keys ...string) *KeyRing {
	t.Helper()
	r, err := ParseKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mustID returns a fresh session id.
func mustID(t testing.TB) string {
	t.Helper()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fakeJWT returns a JWT-shaped string of n bytes whose payload contains marker.
func fakeJWT(marker string, n int) string {
	head := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ." + marker + "."
	return head + strings.Repeat("x", max(0, n-len(head)))
}

// sampleRecord is a typical record: a 1 KiB access token, a 40-byte refresh token, a
// 1 KiB ID token, a few claims. marker makes its secrets unique to the test.
func sampleRecord(now time.Time, marker string) *Record {
	now = now.UTC().Round(0)
	return &Record{
		Subject:        "sub-" + marker,
		SID:            "sid-" + marker,
		AccessToken:    fakeJWT("AT"+marker, 1024),
		RefreshToken:   ("RT" + marker + strings.Repeat("r", 40))[:40],
		IDToken:        fakeJWT("IDT"+marker, 1024),
		TokenType:      "Bearer",
		AccessExpiry:   now.Add(5 * time.Minute),
		Claims:         map[string]any{"name": "Ada Lovelace", "email": "ada@example.com"},
		Created:        now,
		AbsoluteExpiry: now.Add(12 * time.Hour),
		Refreshed:      1,
	}
}

// sameRecord compares records by their JSON form (times compare by instant).
func sameRecord(t testing.TB, want, got *Record) {
	t.Helper()
	w, err1 := json.Marshal(want)
	g, err2 := json.Marshal(got)
	if err1 != nil || err2 != nil {
		t.Fatalf("marshal: %v %v", err1, err2)
	}
	if string(w) != string(g) {
		t.Fatalf("record differs:\nwant %s\n got %s", w, g)
	}
}
