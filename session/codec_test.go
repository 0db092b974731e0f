package session

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// jwtLike is a JWT-shaped token of canonical base64url segments, about n bytes long.
func jwtLike(marker string, n int) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`))
	payload := enc.EncodeToString([]byte(`{"sub":"` + marker + `","pad":"` + strings.Repeat("p", max(0, n*3/4-400)) + `"}`))
	sig := enc.EncodeToString([]byte(strings.Repeat("s", 256)))
	return head + "." + payload + "." + sig
}

// realisticRecord is a record as a login with a typical provider leaves it.
func realisticRecord(now time.Time) *Record {
	return &Record{
		Subject: "248289761001", SID: "08a5019c-17e1-4977-8f42-65a12843ea02",
		AccessToken: jwtLike("at", 900), RefreshToken: "8xLOxBtZp8", IDToken: jwtLike("idt", 900),
		TokenType: "Bearer", AccessExpiry: now.Add(time.Hour), AccessLifetime: time.Hour,
		Claims:  map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true, "groups": []any{"a", "b"}},
		Created: now, AbsoluteExpiry: now.Add(12 * time.Hour), LogoutHandle: "lh-0123456789abcdef",
	}
}

// fill sets v (settable) to a non-zero value of its type, whatever the type: a new
// Record field gets one without any change here.
func fill(t *testing.T, v reflect.Value, seed string) {
	t.Helper()
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Unix(1_900_000_000, 123456789).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(seed)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(42)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(42)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(4.5)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), seed+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), seed)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0), seed)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, seed+"-k")
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf(seed + "-v"))
		} else {
			fill(t, e, seed+"-v")
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	default:
		t.Fatalf("fill: %s has a kind (%s) this test does not know: teach it", seed, v.Kind())
	}
}

// TestEveryRecordFieldSurvivesSaveAndGet sets every field of Record, including any added
// later with a json tag and no codec change, and checks each comes back from Save→Get in
// both formats, field by field.
func TestEveryRecordFieldSurvivesSaveAndGet(t *testing.T) {
	now := time.Now()
	for _, format := range []RecordFormat{RecordJSON, RecordCompact} {
		t.Run(fmt.Sprint(format), func(t *testing.T) {
			s, _, err := newEmbedded(Options{Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Hour, RecordFormat: format}, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			var rec Record
			v := reflect.ValueOf(&rec).Elem()
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(t, v.Field(i), v.Type().Field(i).Name)
				}
			}
			rec.AbsoluteExpiry = now.Add(time.Hour).UTC()
			id := mustID(t)
			if err := s.Save(t.Context(), id, &rec); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			g := reflect.ValueOf(got).Elem()
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				want, _ := json.Marshal(v.Field(i).Interface())
				have, _ := json.Marshal(g.Field(i).Interface())
				if string(want) != string(have) {
					t.Errorf("Record.%s did not survive Save→Get: saved %s, got %s", f.Name, want, have)
				}
			}
		})
	}
}

// TestRecordFormatsOpenEitherWay: whatever a store writes, a store of either format opens
// it (this release reads both), and what the json format writes is plain JSON that the
// previous release's decoder (json.Unmarshal into Record) reads as the same record.
func TestRecordFormatsOpenEitherWay(t *testing.T) {
	ring, idHash := mustRing(t, newTestKey(t)), IDHash(mustID(t))
	rec := realisticRecord(time.Now().UTC().Round(0))
	for _, f := range []RecordFormat{RecordJSON, RecordCompact} {
		sealed, err := sealRecordAs(ring, idHash, rec, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := openRecord(ring, idHash, sealed)
		if err != nil {
			t.Fatalf("format %d: %v", f, err)
		}
		sameRecord(t, rec, got)
		plain, err := ring.open(sealed, []byte(idHash))
		if err != nil {
			t.Fatal(err)
		}
		var previous Record // the previous release's openRecord
		err = json.Unmarshal(plain, &previous)
		switch f {
		case RecordJSON:
			if err != nil {
				t.Fatalf("the previous release cannot read the json format: %v", err)
			}
			sameRecord(t, rec, &previous)
		case RecordCompact:
			if err == nil || plain[0] != compactVersion {
				t.Fatal("the compact format is not what this test thinks it is")
			}
		}
	}
}

// TestCompactRecordIsSmaller: the compact plaintext of a realistic record is smaller than
// its JSON, and its tokens take about their decoded size.
func TestCompactRecordIsSmaller(t *testing.T) {
	rec := realisticRecord(time.Now())
	j, _ := encodeRecord(rec, RecordJSON)
	c, err := encodeRecord(rec, RecordCompact)
	if err != nil {
		t.Fatal(err)
	}
	tokens := len(rec.AccessToken) + len(rec.RefreshToken) + len(rec.IDToken)
	t.Logf("json %d bytes, compact %d bytes, raw tokens %d bytes", len(j), len(c), tokens)
	if len(c) > tokens {
		t.Fatalf("compact record %d bytes > its raw tokens %d: the JWTs are not stored as bytes", len(c), tokens)
	}
}

// TestCompactRecordKeepsNonCanonicalTokens: a token that only looks like a JWT (not
// canonical base64url) is kept as text, byte for byte.
func TestCompactRecordKeepsNonCanonicalTokens(t *testing.T) {
	for _, tok := range []string{"a.b.c", "AA.AA.A\nA", "AA\r\n.AA.AA", "eyJ=.x.y", "..", "a.b", "a.b.c.d", "AB.AB.AB", "AC.AC.AC", ""} {
		rec := realisticRecord(time.Now())
		rec.AccessToken, rec.RefreshToken = tok, tok
		plain, err := encodeRecord(rec, RecordCompact)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecord(plain)
		if err != nil {
			t.Fatalf("%q: %v", tok, err)
		}
		if got.AccessToken != tok || got.RefreshToken != tok {
			t.Fatalf("token %q came back as %q", tok, got.AccessToken)
		}
	}
}

// TestTruncatedCompactRecordIsUnreadable: every prefix of a compact plaintext, and a
// corrupted claim tag, is ErrUnreadable (never a panic, never a partial record).
func TestTruncatedCompactRecordIsUnreadable(t *testing.T) {
	rec := realisticRecord(time.Now())
	rec.RouteTokens = map[string]RouteToken{"r": {AccessToken: "x", Expiry: time.Now()}}
	plain, err := encodeRecord(rec, RecordCompact)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < len(plain); n++ {
		if _, err := decodeRecord(plain[:n]); !errors.Is(err, ErrUnreadable) {
			t.Fatalf("a %d-byte prefix of %d: %v, want ErrUnreadable", n, len(plain), err)
		}
	}
	if _, err := decodeRecord(append(plain, 0)); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("a trailing byte: %v, want ErrUnreadable", err)
	}
	huge := append([]byte{compactVersion}, 0xff, 0xff, 0xff, 0xff, 0x0f) // a 4 GiB string
	if _, err := decodeRecord(huge); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("oversized length: %v", err)
	}
}

// TestCompactVersion2RecordsStillOpen: a record the previous compact layout wrote
// (testdata/record-compact-v2.hex, made by that commit's encodeRecord: the session handle,
// the device and a route token in the JSON rest, a JSON claim) decodes to what was saved.
func TestCompactVersion2RecordsStillOpen(t *testing.T) {
	raw, err := os.ReadFile("testdata/record-compact-v2.hex")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || plain[0] != compactVersion2 {
		t.Fatalf("fixture: %v (version %#x)", err, plain[0])
	}
	now := time.Unix(1_900_000_000, 123456789).UTC()
	want := &Record{
		Subject: "248289761001", SID: "08a5019c", AccessToken: jwtLike("at", 500), RefreshToken: "8xLOxBtZp8",
		IDToken: jwtLike("idt", 500), TokenType: "Bearer", AccessExpiry: now.Add(time.Hour), AccessLifetime: time.Hour,
		Claims:  map[string]any{"groups": []any{"a", "b"}},
		Created: now, AbsoluteExpiry: now.Add(12 * time.Hour), LogoutHandle: "lh-0123456789abcdef",
		Handle: "hd-fixture", Device: "Firefox on Linux",
		RouteTokens: map[string]RouteToken{"r": {AccessToken: "x", Expiry: now}},
	}
	got, err := decodeRecord(plain)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, want, got)
	// Written again, it is version 3 and the same record.
	again, err := encodeRecord(got, RecordCompact)
	if err != nil || again[0] != compactVersion {
		t.Fatalf("re-encoded: %v (version %#x)", err, again[0])
	}
	back, err := decodeRecord(again)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, want, back)
}

// TestCompactRecordOfALoginHasNoJSON: the fields a real login's record carries (the
// session handle, the device, string, boolean and number claims) are all in the binary
// part: the JSON rest is empty, so reading it needs no JSON decode.
func TestCompactRecordOfALoginHasNoJSON(t *testing.T) {
	rec := realisticRecord(time.Now())
	rec.Handle, rec.Device = NewSessionHandle(), "Firefox on Linux"
	rec.Claims = map[string]any{"name": "Ada", "email_verified": true, "auth_time": float64(1_900_000_000), "score": -0.5}
	plain, err := encodeRecord(rec, RecordCompact)
	if err != nil {
		t.Fatal(err)
	}
	if plain[len(plain)-1] != 0 { // the rest's length, the last byte when it is empty
		t.Fatalf("the JSON rest is not empty")
	}
	if strings.Contains(string(plain), `"hd"`) || strings.Contains(string(plain), "auth_timej") {
		t.Fatal("a field travelled as JSON")
	}
	got, err := decodeRecord(plain)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, rec, got)
}
