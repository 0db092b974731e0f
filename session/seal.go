package session

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// Sealed record layout (all of it stored, none of it secret but the key):
//
//	version (1) | key id (4) | nonce (12) | AES-256-GCM ciphertext and tag (16)
//
// The additional authenticated data is the 5-byte header followed by the id hash, so
// neither the header nor the record's place can change: a record copied to another
// id's key, or relabelled with another key id or version, does not open.
const (
	sealVersion   byte = 1
	sealHeaderLen      = 1 + keyIDSize
)

// ErrUnreadable: a stored record exists but cannot be opened (tampered, sealed under
// a key no longer in the ring, unknown format, oversized). The store returns it
// together with ErrNotFound: to the caller the session is gone.
var ErrUnreadable = errors.New("session: stored record cannot be opened")

// The two reasons a well-formed sealed record does not open, for callers that must tell an
// attack from an operator's key retirement (the handler counts and logs them). Both come
// wrapped together with ErrUnreadable.
var (
	// ErrRecordForged: AES-GCM authentication failed. The record was altered, or it was
	// sealed for another session id and copied under this one (the id hash is additional
	// authenticated data, so a moved record fails exactly like a tampered one).
	ErrRecordForged = errors.New("session: stored record failed authentication (tampered, or bound to another id)")
	// ErrRecordKeyUnknown: the record names a sealing key that is not in the ring (retired).
	ErrRecordKeyUnknown = errors.New("session: stored record sealed by a key not in the ring")
)

// Reasons a sealed value does not open; they wrap ErrUnreadable.
var (
	errSealTooShort = fmt.Errorf("%w: too short", ErrUnreadable)
	errSealVersion  = fmt.Errorf("%w: unknown format version", ErrUnreadable)
	errSealAuth     = fmt.Errorf("%w: %w", ErrUnreadable, ErrRecordForged)
)

// seal encrypts plaintext under the newest key, bound to aad.
func (r *KeyRing) seal(plaintext, aad []byte) ([]byte, error) {
	k, err := r.newest()
	if err != nil {
		return nil, err
	}
	header := make([]byte, sealHeaderLen, sealHeaderLen+k.aead.Overhead()+len(plaintext))
	header[0] = sealVersion
	copy(header[1:], k.id[:])
	return k.aead.Seal(header, nil, plaintext, sealAAD(header, aad)), nil
}

// open authenticates and decrypts a value made by seal with any key of the ring.
// It never panics, whatever the input.
func (r *KeyRing) open(sealed, aad []byte) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: empty key ring", ErrInvalidKey)
	}
	if len(sealed) < sealHeaderLen {
		return nil, errSealTooShort
	}
	if sealed[0] != sealVersion {
		return nil, errSealVersion
	}
	header, body := sealed[:sealHeaderLen], sealed[sealHeaderLen:]
	k := r.byID(header[1:])
	if k == nil {
		return nil, fmt.Errorf("%w: %w: key id %s",
			ErrUnreadable, ErrRecordKeyUnknown, hex.EncodeToString(header[1:]))
	}
	if len(body) < k.aead.Overhead() {
		return nil, errSealTooShort
	}
	plain, err := k.aead.Open(nil, nil, body, sealAAD(header, aad))
	if err != nil {
		return nil, errSealAuth
	}
	return plain, nil
}

// byID finds the ring key with that id, or nil.
func (r *KeyRing) byID(id []byte) *ringKey {
	for i := range r.keys {
		if string(r.keys[i].id[:]) == string(id) {
			return &r.keys[i]
		}
	}
	return nil
}

// sealAAD is header | aad, in a fresh slice.
func sealAAD(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	return append(append(out, header...), aad...)
}

// sealRecord seals rec (JSON) for the record stored under idHash.
func sealRecord(r *KeyRing, idHash string, rec *Record) ([]byte, error) {
	return sealRecordAs(r, idHash, rec, RecordJSON)
}

// sealRecordAs seals rec, encoded in format f, for the record stored under idHash.
func sealRecordAs(r *KeyRing, idHash string, rec *Record, f RecordFormat) ([]byte, error) {
	plain, err := encodeRecord(rec, f)
	if err != nil {
		return nil, fmt.Errorf("session: encode record: %w", err)
	}
	return r.seal(plain, []byte(idHash))
}

// openRecord opens a record sealed for idHash. Errors wrap ErrUnreadable (or
// ErrInvalidKey for an empty ring) and never contain record contents. sealed is only
// read.
func openRecord(r *KeyRing, idHash string, sealed []byte) (*Record, error) {
	plain, err := r.open(sealed, bytesOf(idHash)) // open copies aad (sealAAD)
	if err != nil {
		return nil, err
	}
	return decodeRecord(plain)
}

// sealedByNewest reports whether sealed was made with the ring's newest key.
func (r *KeyRing) sealedByNewest(sealed []byte) bool {
	k, err := r.newest()
	return err == nil && len(sealed) >= sealHeaderLen && string(sealed[1:sealHeaderLen]) == string(k.id[:])
}
