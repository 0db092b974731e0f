package session

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

const testCookie = "__Host-bff"

func TestCookieRoundTrip(t *testing.T) {
	codec := NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour)
	type login struct {
		State, Nonce, Verifier, ReturnTo string
		Issued                           int64
	}
	tests := []struct {
		name  string
		value any
		dst   func() any
	}{
		{name: "session id", value: mustID(t), dst: func() any { return new(string) }},
		{name: "login in progress", value: login{"st", "no", "ve", "/app?x=1", 1700000000}, dst: func() any { return new(login) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := codec.Encode(testCookie, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			dst := tc.dst()
			if err := codec.Decode(testCookie, enc, dst); err != nil {
				t.Fatal(err)
			}
			switch want := tc.value.(type) {
			case string:
				if *dst.(*string) != want {
					t.Fatalf("decoded %q, want %q", *dst.(*string), want)
				}
			case login:
				if *dst.(*login) != want {
					t.Fatalf("decoded %+v, want %+v", *dst.(*login), want)
				}
			}
		})
	}
}

// TestSessionCookieSize: the session cookie stays small (reported in the log).
func TestSessionCookieSize(t *testing.T) {
	enc, err := NewCookieCodec(mustRing(t, newTestKey(t)), 12*time.Hour).Encode(testCookie, mustID(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("session cookie value: %d bytes", len(enc))
	if len(enc) > 200 {
		t.Fatalf("session cookie value is %d bytes, want <= 200", len(enc))
	}
}

func TestCookieKeyRotation(t *testing.T) {
	oldKey, newKey := newTestKey(t), newTestKey(t)
	oldCodec := NewCookieCodec(mustRing(t, oldKey), time.Hour)
	rotated := NewCookieCodec(mustRing(t, newKey, oldKey), time.Hour)
	retired := NewCookieCodec(mustRing(t, newKey), time.Hour)

	issued, _ := oldCodec.Encode(testCookie, "id-1")
	var got string
	if err := rotated.Decode(testCookie, issued, &got); err != nil || got != "id-1" {
		t.Fatalf("cookie of the old key does not decode after rotation: %q, %v", got, err)
	}
	if err := retired.Decode(testCookie, issued, &got); !errors.Is(err, ErrCookieInvalid) {
		t.Fatalf("cookie of a retired key decoded: %v", err)
	}
	fresh, _ := rotated.Encode(testCookie, "id-2")
	if err := oldCodec.Decode(testCookie, fresh, &got); !errors.Is(err, ErrCookieInvalid) {
		t.Fatal("rotated codec did not encode with its newest key")
	}
	if stale, err := rotated.DecodeStale(testCookie, issued, &got); err != nil || !stale {
		t.Fatalf("DecodeStale of an old-key cookie = %v, %v; want stale", stale, err)
	}
	if stale, err := rotated.DecodeStale(testCookie, fresh, &got); err != nil || stale {
		t.Fatalf("DecodeStale of a newest-key cookie = %v, %v; want fresh", stale, err)
	}
}

// TestCookieDecodeRefusesForgery covers what an attacker can send as a cookie.
func TestCookieDecodeRefusesForgery(t *testing.T) {
	codec := NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour)
	valid, err := codec.Encode(testCookie, mustID(t))
	if err != nil {
		t.Fatal(err)
	}
	otherName, _ := codec.Encode("other", "x")
	foreign, _ := NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour).Encode(testCookie, "x")
	tests := []struct {
		name    string
		value   string
		wantErr error
	}{
		{name: "empty", value: "", wantErr: errCookieEmpty},
		{name: "oversized (refused before decoding)", value: valid + strings.Repeat("A", MaxCookieValue), wantErr: errCookieTooLong},
		{name: "truncated", value: valid[:len(valid)-4], wantErr: ErrCookieInvalid},
		{name: "tampered character", value: tamper(valid), wantErr: errCookieNotAuthn},
		{name: "issued for another cookie name", value: otherName, wantErr: errCookieNotAuthn},
		{name: "signed by an unknown key", value: foreign, wantErr: errCookieNotAuthn},
		{name: "non-canonical base64 spelling", value: nonCanonical(t, valid), wantErr: errCookieEncoding},
		{name: "line break inside", value: valid[:10] + "\n" + valid[10:], wantErr: errCookieEncoding},
		{name: "standard base64 alphabet", value: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+", wantErr: errCookieEncoding},
		{name: "plain session id, unsealed", value: mustID(t), wantErr: ErrCookieInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			err := codec.Decode(testCookie, tc.value, &got)
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, ErrCookieInvalid) {
				t.Fatalf("Decode = %v, want %v", err, tc.wantErr)
			}
			if got != "" {
				t.Fatalf("Decode wrote %q on failure", got)
			}
			if len(tc.value) > 8 && strings.Contains(err.Error(), tc.value) {
				t.Fatalf("error %q contains the cookie value", err)
			}
		})
	}
}

// TestCookieDecodeErrorsNeverContainTheValue: whatever part of a value the error
// could quote, it quotes none.
func TestCookieDecodeErrorsNeverContainTheValue(t *testing.T) {
	codec := NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour)
	valid, _ := codec.Encode(testCookie, "secret-session-id")
	for _, v := range []string{valid, tamper(valid), valid[:40], "secret-session-id", strings.Repeat("QUJD", 1100)} {
		var dst struct{ N int } // wrong type: fails after the MAC for the valid value
		err := codec.Decode(testCookie, v, &dst)
		if err == nil {
			t.Fatal("Decode into the wrong type succeeded")
		}
		for i := 0; i+12 <= len(v); i += 6 {
			if strings.Contains(err.Error(), v[i:i+12]) {
				t.Fatalf("error %q contains part of the value", err)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error %q contains the plaintext", err)
		}
	}
}

func TestCookieExpires(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 2s for securecookie's whole-second timestamp")
	}
	t.Parallel()
	codec := NewCookieCodec(mustRing(t, newTestKey(t)), time.Second)
	enc, _ := codec.Encode(testCookie, "id")
	time.Sleep(2100 * time.Millisecond)
	var got string
	if err := codec.Decode(testCookie, enc, &got); !errors.Is(err, errCookieMalformed) {
		t.Fatalf("Decode of an expired cookie = %v, want expired", err)
	}
}

func TestCookieCodecWithoutKeysFails(t *testing.T) {
	codec := NewCookieCodec(nil, time.Hour)
	if _, err := codec.Encode(testCookie, "x"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Encode without keys = %v", err)
	}
	var s string
	if err := codec.Decode(testCookie, "QUJD", &s); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Decode without keys = %v", err)
	}
}

func TestCookieEncodeRefusesOversizedValue(t *testing.T) {
	codec := NewCookieCodec(mustRing(t, newTestKey(t)), time.Hour)
	if _, err := codec.Encode(testCookie, strings.Repeat("x", MaxCookieValue)); err == nil {
		t.Fatal("Encode produced a value over MaxCookieValue")
	}
}

// tamper changes one character in the middle of an encoded value, keeping it
// canonical base64url.
func tamper(v string) string {
	b := []byte(v)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// nonCanonical re-spells v with non-zero padding bits: Go's lenient decoder reads it
// as the same bytes.
func nonCanonical(t *testing.T, v string) string {
	t.Helper()
	raw, _ := base64.URLEncoding.DecodeString(v)
	if len(raw)%3 == 0 {
		raw = append(raw, 0) // needs padding for spare bits to exist
	}
	enc := []byte(base64.URLEncoding.EncodeToString(raw))
	last := strings.IndexByte(string(enc), '=') - 1
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	enc[last] = alphabet[strings.IndexByte(alphabet, enc[last])|1]
	if _, err := base64.URLEncoding.DecodeString(string(enc)); err != nil {
		t.Fatal("lenient decoder refused the variant:", err)
	}
	return string(enc)
}

// FuzzCookieDecode: Decode never panics, and only values produced by Encode (for this
// name, under this ring) decode; they decode to exactly what was encoded.
func FuzzCookieDecode(f *testing.F) {
	codec := NewCookieCodec(mustRing(f, newTestKey(f), newTestKey(f)), time.Hour)
	issued := map[string]string{}
	for _, v := range []string{"", "id", mustID(f)} {
		enc, err := codec.Encode(testCookie, v)
		if err != nil {
			f.Fatal(err)
		}
		issued[enc] = v
		f.Add(enc)                                       // valid
		f.Add(enc[:len(enc)/2])                          // truncated
		f.Add(tamper(enc))                               // tampered
		f.Add(enc + strings.Repeat("A", MaxCookieValue)) // oversized
	}
	f.Add("")
	f.Add("====")
	f.Add("|||")
	f.Fuzz(func(t *testing.T, value string) {
		var got string
		err := codec.Decode(testCookie, value, &got)
		want, ok := issued[value]
		switch {
		case err == nil && !ok:
			t.Fatalf("Decode accepted a value Encode did not produce: %q -> %q", value, got)
		case err == nil && got != want:
			t.Fatalf("Decode returned %q, Encode was given %q", got, want)
		case err != nil && ok:
			t.Fatalf("Decode refused a value Encode produced: %v", err)
		case err != nil && !errors.Is(err, ErrCookieInvalid):
			t.Fatalf("Decode error %v does not wrap ErrCookieInvalid", err)
		}
	})
}
