package session

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// DefaultCookieMemoEntries bounds a CookieMemo made with maxEntries <= 0: about 400
// bytes each (the cookie value, the id and its hash), some 6.5 MB when full.
const DefaultCookieMemoEntries = 16384

// CookieMemo remembers what a CookieCodec decoded session-id cookies to, so that a
// session's every request after its first costs a SHA-256 of the cookie value and a map
// lookup instead of securecookie's base64, HMAC-SHA256, AES-CTR and JSON (the largest
// part of a proxied request's own cost once the record is cached: docs/performance.md).
//
// What keeps it as strict as the codec:
//   - only values the codec opened are remembered (a forged, tampered or expired cookie
//     never enters it, so a flood of them neither grows it nor evicts anything);
//   - an entry is found by the SHA-256 of the value and then compared with the presented
//     name and value (the value in constant time): a hit is the exact value the codec
//     opened for that cookie name;
//   - an entry is served only while the codec would still open its value (the value's
//     signed timestamp plus the codec's max age, checked against the wall clock as
//     securecookie checks it);
//   - it is bounded: when full, a random entry makes room (a valid cookie evicted only
//     costs its next request a real decode).
//
// The codec's keys never change while it lives, so a remembered "sealed by an older
// key" (stale) stays true. Safe for concurrent use.
type CookieMemo struct {
	codec *CookieCodec
	max   int
	now   func() time.Time // the wall clock, as securecookie's own

	mu      sync.Mutex
	entries map[[sha256.Size]byte]memoEntry
}

type memoEntry struct {
	name, value string // what was presented (compared in constant time)
	id, idHash  string
	stale       bool
	until       int64 // Unix seconds: the last second the codec opens the value
}

// NewCookieMemo returns a memo over codec of at most maxEntries values (<= 0:
// DefaultCookieMemoEntries).
func NewCookieMemo(codec *CookieCodec, maxEntries int) *CookieMemo {
	if maxEntries <= 0 {
		maxEntries = DefaultCookieMemoEntries
	}
	return &CookieMemo{codec: codec, max: maxEntries, now: time.Now, entries: map[[sha256.Size]byte]memoEntry{}}
}

// DecodedID is a session-id cookie that opened.
type DecodedID struct {
	ID     string
	IDHash string // IDHash(ID), computed once per value
	Stale  bool   // sealed with an older key than the newest (see CookieCodec.DecodeStale)
}

// DecodeID is CookieCodec.DecodeStale of a string value (a session id), remembered. An
// empty id is refused like a value that does not open. Errors wrap ErrCookieInvalid and
// never contain the value.
func (m *CookieMemo) DecodeID(name, value string) (DecodedID, error) {
	if len(value) > MaxCookieValue {
		return DecodedID{}, fmt.Errorf("session: decode cookie %q: %w", name, errCookieTooLong)
	}
	key := memoKey(value)
	now := m.now().Unix()
	if d, ok := m.lookup(key, name, value, now); ok {
		return d, nil
	}
	var id string
	stale, err := m.codec.DecodeStale(name, value, &id)
	if err != nil {
		return DecodedID{}, err
	}
	if id == "" {
		return DecodedID{}, fmt.Errorf("session: decode cookie %q: %w", name, errCookieMalformed)
	}
	d := DecodedID{ID: id, IDHash: IDHash(id), Stale: stale}
	if until, ok := m.codec.openUntil(value); ok && now <= until {
		m.remember(key, memoEntry{name: name, value: value, id: d.ID, idHash: d.IDHash, stale: stale, until: until})
	}
	return d, nil
}

// Len is the number of remembered values.
func (m *CookieMemo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func (m *CookieMemo) lookup(key [sha256.Size]byte, name, value string, now int64) (DecodedID, bool) {
	m.mu.Lock()
	e, ok := m.entries[key]
	if ok && now > e.until {
		delete(m.entries, key)
		ok = false
	}
	m.mu.Unlock()
	if !ok || e.name != name || subtle.ConstantTimeCompare(bytesOf(e.value), bytesOf(value)) != 1 {
		return DecodedID{}, false
	}
	return DecodedID{ID: e.id, IDHash: e.idHash, Stale: e.stale}, true
}

func (m *CookieMemo) remember(key [sha256.Size]byte, e memoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.entries[key]; !ok && len(m.entries) >= m.max {
		for k := range m.entries { // map order is random: a random victim
			delete(m.entries, k)
			break
		}
	}
	m.entries[key] = e
}

// memoKey is SHA-256(value); the entry also keeps the name, compared on a hit.
func memoKey(value string) [sha256.Size]byte { return sha256.Sum256(bytesOf(value)) }

// openUntil is the last Unix second at which the codec still opens value (which it has
// just opened: its MAC, over the timestamp too, is valid): securecookie's value is
// base64("date|value|mac") and it refuses date < now - maxAge. Without a max age the
// value never expires by age (math.MaxInt64).
func (c *CookieCodec) openUntil(value string) (int64, bool) {
	if c.maxAge == 0 {
		return math.MaxInt64, true
	}
	raw, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return 0, false
	}
	date, _, ok := bytes.Cut(raw, []byte("|"))
	if !ok {
		return 0, false
	}
	t, err := strconv.ParseInt(string(date), 10, 64)
	if err != nil || t > math.MaxInt64-c.maxAge {
		return 0, false
	}
	return t + c.maxAge, true
}
