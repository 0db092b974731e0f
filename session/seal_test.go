package session

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestSealOpenRoundTrip(t *testing.T) {
	ring := mustRing(t, newTestKey(t), newTestKey(t))
	rec := sampleRecord(time.Now(), "seal")
	idHash := IDHash(mustID(t))
	sealed, err := sealRecord(ring, idHash, rec)
	if err != nil {
		t.Fatal(err)
	}
	if sealed[0] != sealVersion || !bytes.Equal(sealed[1:5], ring.keys[0].id[:]) {
		t.Fatal("sealed record does not start with version and the newest key id")
	}
	got, err := openRecord(ring, idHash, sealed)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, rec, got)
	again, _ := sealRecord(ring, idHash, rec)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one record are equal: nonce reused")
	}
}

// TestSealRefusesTamperingAndMoving: every way to alter or relocate a sealed record
// makes it unreadable, and none panics.
func TestSealRefusesTamperingAndMoving(t *testing.T) {
	ring := mustRing(t, newTestKey(t))
	idHash := IDHash(mustID(t))
	sealed, err := ring.seal([]byte(`{"sub":"alice"}`), []byte(idHash))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		ring   *KeyRing
		sealed []byte
		aad    string
	}{
		{name: "flipped ciphertext byte", ring: ring, sealed: flip(len(sealed) - 20), aad: idHash},
		{name: "flipped tag byte", ring: ring, sealed: flip(len(sealed) - 1), aad: idHash},
		{name: "flipped nonce byte", ring: ring, sealed: flip(sealHeaderLen + 2), aad: idHash},
		{name: "other version", ring: ring, sealed: flip(0), aad: idHash},
		{name: "other key id", ring: ring, sealed: flip(2), aad: idHash},
		{name: "moved to another id (wrong AAD)", ring: ring, sealed: sealed, aad: IDHash(mustID(t))},
		{name: "unknown key id (key retired)", ring: mustRing(t, newTestKey(t)), sealed: sealed, aad: idHash},
		{name: "truncated to the header", ring: ring, sealed: sealed[:sealHeaderLen], aad: idHash},
		{name: "truncated tag", ring: ring, sealed: sealed[:len(sealed)-1], aad: idHash},
		{name: "empty", ring: ring, sealed: nil, aad: idHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain, err := tc.ring.open(tc.sealed, []byte(tc.aad))
			if !errors.Is(err, ErrUnreadable) || plain != nil {
				t.Fatalf("open = %q, %v; want ErrUnreadable", plain, err)
			}
		})
	}
}

func TestSealWithOldKeyOpensAfterRotation(t *testing.T) {
	oldKey, newKey := newTestKey(t), newTestKey(t)
	old, rotated := mustRing(t, oldKey), mustRing(t, newKey, oldKey)
	aad := []byte(IDHash("x"))
	sealed, err := old.seal([]byte("payload"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := rotated.open(sealed, aad); err != nil || string(plain) != "payload" {
		t.Fatalf("rotated ring cannot open the old key's seal: %q, %v", plain, err)
	}
	resealed, _ := rotated.seal([]byte("payload"), aad)
	if !bytes.Equal(resealed[1:5], rotated.keys[0].id[:]) {
		t.Fatal("rotated ring does not seal with its newest key")
	}
}

func TestOpenRecordRefusesNonJSON(t *testing.T) {
	ring := mustRing(t, newTestKey(t))
	aad := IDHash("x")
	sealed, _ := ring.seal([]byte("secret-looking plaintext"), []byte(aad))
	_, err := openRecord(ring, aad, sealed)
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("openRecord of non-JSON = %v, want ErrUnreadable", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("secret")) {
		t.Fatalf("error %q quotes the plaintext", err)
	}
}

// FuzzOpen: open never panics, and only accepts exactly what seal produced, with
// the AAD it was sealed for.
func FuzzOpen(f *testing.F) {
	ring := mustRing(f, newTestKey(f), newTestKey(f))
	aad := IDHash("fuzz")
	valid := map[string]bool{}
	for _, p := range []string{"", "{}", `{"sub":"a"}`} {
		s, err := ring.seal([]byte(p), []byte(aad))
		if err != nil {
			f.Fatal(err)
		}
		valid[string(s)] = true
		f.Add(s, aad)
		f.Add(s[:len(s)-1], aad)
		f.Add(s, IDHash("other"))
	}
	f.Add([]byte{}, aad)
	f.Add([]byte{sealVersion, 1, 2, 3, 4}, aad)
	f.Fuzz(func(t *testing.T, sealed []byte, gotAAD string) {
		_, err := ring.open(sealed, []byte(gotAAD))
		if err == nil && (!valid[string(sealed)] || gotAAD != aad) {
			t.Fatalf("open accepted a value seal did not produce for this AAD: %x", sealed)
		}
	})
}
