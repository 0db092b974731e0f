package session

import (
	"errors"
	"testing"
	"time"
)

// FuzzDecodeCompact feeds the compact decoder arbitrary plaintexts (what an AES-GCM open
// of a record sealed by a buggy or hostile writer holding the key would give it): it never
// panics, refuses with ErrUnreadable, and whatever it accepts is exact: one byte fewer or
// one byte more is refused (no prefix or suffix of a record is a record), and the
// record re-encodes to a plaintext that decodes to the same record.
//
//	go test -run '^$' -fuzz FuzzDecodeCompact -fuzztime 60s ./session/
func FuzzDecodeCompact(f *testing.F) {
	now := time.Unix(1_900_000_000, 123456789)
	full := realisticRecord(now)
	full.RouteTokens = map[string]RouteToken{"r": {AccessToken: "x", Expiry: now}}
	full.Handle, full.Device = NewSessionHandle(), "Firefox on Linux"
	for _, rec := range []*Record{realisticRecord(now), sampleRecord(now, "f"), full, {}} {
		plain, err := encodeRecord(rec, RecordCompact)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(plain[1:]) // the body adds the version byte
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}) // a 4 GiB string
	empty, err := encodeRecord(&Record{}, RecordCompact)
	if err != nil {
		f.Fatal(err)
	}
	// an empty record but for 2^62 claims (its last two bytes: no claims, no rest)
	f.Add(append(empty[1:len(empty)-2:len(empty)-2], 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []byte{compactVersion, compactVersion2} {
			fuzzDecodeCompact(t, append([]byte{v}, body...)) // the JSON branch is encoding/json's
		}
	})
}

func fuzzDecodeCompact(t *testing.T, plain []byte) {
	t.Helper()
	rec, err := decodeRecord(plain)
	if err != nil {
		if !errors.Is(err, ErrUnreadable) {
			t.Fatalf("refused with %v, want ErrUnreadable", err)
		}
		return
	}
	if _, err := decodeRecord(plain[:len(plain)-1]); err == nil {
		t.Fatal("a record less its last byte was accepted")
	}
	if _, err := decodeRecord(append(plain[:len(plain):len(plain)], 0)); err == nil {
		t.Fatal("a record with a byte after it was accepted")
	}
	again, err := encodeRecord(rec, RecordCompact)
	if err != nil {
		return // a claim or rest value that JSON cannot write back (e.g. a huge number): not the decoder's concern
	}
	back, err := decodeRecord(again)
	if err != nil {
		t.Fatalf("a re-encoded record does not decode: %v", err)
	}
	sameRecord(t, rec, back)
}
