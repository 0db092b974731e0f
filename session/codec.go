package session

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// RecordFormat is how a record's plaintext is encoded before it is sealed. Every release
// opens both; Options.RecordFormat says which one Save writes.
type RecordFormat uint8

const (
	// RecordJSON is the record as JSON: what every release so far reads. The default of
	// this release, so that replicas of the previous release, during a rolling update or
	// after a rollback, still open what this one writes.
	RecordJSON RecordFormat = iota
	// RecordCompact is the binary record (compactVersion): the fields a proxied request
	// needs, the tokens as bytes instead of base64 text, the claims as key/values, and only
	// the remaining fields as JSON. Several times cheaper to open and smaller at rest;
	// releases before this one cannot open it (to them the session is gone).
	RecordCompact
)

// ParseRecordFormat maps the configuration's names ("json", "compact"; "" is json).
func ParseRecordFormat(s string) (RecordFormat, error) {
	switch s {
	case "", "json":
		return RecordJSON, nil
	case "compact":
		return RecordCompact, nil
	}
	return RecordJSON, fmt.Errorf("session: record format %q: want json or compact", s)
}

// compactVersion is the first plaintext byte of a compact record as Save writes it. A
// JSON record always starts with '{', so one byte tells the formats apart and old records
// need no migration; compactVersion2 records (written before Handle and Device moved out
// of the JSON rest) are still read.
//
// Compact layout (after the version byte; str = uvarint length + bytes, time = 0 for the
// zero time or 1 + varint Unix seconds + uvarint nanoseconds, tok = a str, or for a JWT
// of canonical base64url its three segments decoded, each a str):
//
//	str Subject, str Provider, str SID, tok AccessToken, tok RefreshToken, tok IDToken,
//	str TokenType, time AccessExpiry, varint AccessLifetime, time Created,
//	time AbsoluteExpiry, varint Refreshed, time ForcedRefreshAt, varint RefreshFailures,
//	time RefreshRetryAt, time RefreshPendingSince, str RefreshPendingOwner,
//	str LogoutHandle, str DPoPKey, str Handle, str Device (these two not in version 2),
//	uvarint n claims, n × (str key, 's' str value | 't' | 'f' | 'n' 8-byte big-endian
//	IEEE 754 number (not written by version 2) | 'j' str JSON value),
//	str rest: a JSON object of every other field of Record (empty when they are all zero),
//	and nothing after it
//
// "Every other field" is generic: a field added to Record with a json tag and no change
// here travels in the JSON rest (TestEveryRecordFieldSurvivesSaveAndGet). A real login's
// record has an empty rest in version 3 (version 2 carried the session handle and device
// there, a JSON decode on every read).
const (
	compactVersion  byte = 0x03
	compactVersion2 byte = 0x02
)

// compactFields are the Record fields the binary part carries, by Go name; the JSON rest
// leaves out their json keys (compactSkip, computed from the tags). compactFields2 are
// those of version 2.
var (
	compactFields2 = []string{
		"Subject", "Provider", "SID", "AccessToken", "RefreshToken", "IDToken", "TokenType",
		"AccessExpiry", "AccessLifetime", "Created", "AbsoluteExpiry", "Refreshed",
		"ForcedRefreshAt", "RefreshFailures", "RefreshRetryAt", "RefreshPendingSince",
		"RefreshPendingOwner", "LogoutHandle", "DPoPKey", "Claims",
	}
	compactFields = append(slices.Clip(compactFields2), "Handle", "Device")
)

// compactSkip: the json keys of compactFields; compactIndex, compactIndex2: the field
// indexes of compactFields and compactFields2.
var (
	compactSkip, compactIndex = compactKeys(compactFields)
	_, compactIndex2          = compactKeys(compactFields2)
)

func compactKeys(fields []string) (map[string]bool, [][]int) {
	t := reflect.TypeFor[Record]()
	skip := map[string]bool{}
	var idx [][]int
	for _, name := range fields {
		f, ok := t.FieldByName(name)
		if !ok {
			panic("session: compact record field " + name + " is not in Record")
		}
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" {
			key = name
		}
		skip[key] = true
		idx = append(idx, f.Index)
	}
	return skip, idx
}

// encodeRecord is rec's plaintext in format f.
func encodeRecord(rec *Record, f RecordFormat) ([]byte, error) {
	if f != RecordCompact {
		return json.Marshal(rec)
	}
	rest, err := compactRest(rec)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64+len(rec.AccessToken)+len(rec.RefreshToken)+len(rec.IDToken)+
		len(rec.DPoPKey)+len(rec.Subject)+len(rec.SID)+len(rec.LogoutHandle)+len(rest)+32*len(rec.Claims))
	b = append(b, compactVersion)
	b = putStr(b, rec.Subject)
	b = putStr(b, rec.Provider)
	b = putStr(b, rec.SID)
	b = putToken(b, rec.AccessToken)
	b = putToken(b, rec.RefreshToken)
	b = putToken(b, rec.IDToken)
	b = putStr(b, rec.TokenType)
	b = putTime(b, rec.AccessExpiry)
	b = binary.AppendVarint(b, int64(rec.AccessLifetime))
	b = putTime(b, rec.Created)
	b = putTime(b, rec.AbsoluteExpiry)
	b = binary.AppendVarint(b, int64(rec.Refreshed))
	b = putTime(b, rec.ForcedRefreshAt)
	b = binary.AppendVarint(b, int64(rec.RefreshFailures))
	b = putTime(b, rec.RefreshRetryAt)
	b = putTime(b, rec.RefreshPendingSince)
	b = putStr(b, rec.RefreshPendingOwner)
	b = putStr(b, rec.LogoutHandle)
	b = putStr(b, rec.DPoPKey)
	b = putStr(b, rec.Handle)
	b = putStr(b, rec.Device)
	b = binary.AppendUvarint(b, uint64(len(rec.Claims)))
	for k, v := range rec.Claims {
		b = putStr(b, k)
		switch v := v.(type) {
		case string:
			b = append(b, 's')
			b = putStr(b, v)
			continue
		case bool:
			b = append(b, 'f')
			if v {
				b[len(b)-1] = 't'
			}
			continue
		case float64: // a JSON number, as encoding/json decodes claims (not NaN or ±Inf)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				b = binary.BigEndian.AppendUint64(append(b, 'n'), math.Float64bits(v))
				continue
			}
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b = append(b, 'j')
		b = putStr(b, string(j))
	}
	return putStr(b, string(rest)), nil
}

// compactRest is the JSON object of rec's fields that the binary part does not carry,
// or nothing when they are all omitted.
func compactRest(rec *Record) ([]byte, error) {
	cp := *rec
	v := reflect.ValueOf(&cp).Elem()
	for _, ix := range compactIndex {
		f := v.FieldByIndex(ix)
		f.SetZero()
	}
	all, err := json.Marshal(&cp)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(all, &fields); err != nil {
		return nil, err
	}
	for k := range fields {
		if compactSkip[k] {
			delete(fields, k)
		}
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return json.Marshal(fields)
}

// decodeRecord decodes a plaintext of either format. It never panics, whatever the input,
// and its errors never quote the plaintext. It takes plain over: a compact record's
// strings share its bytes (one allocation, the AES-GCM plaintext, instead of one per
// field), so the caller MUST NOT write to plain afterwards.
func decodeRecord(plain []byte) (*Record, error) {
	var rec Record
	if len(plain) > 0 && (plain[0] == compactVersion || plain[0] == compactVersion2) {
		if err := decodeCompact(plain[1:], plain[0], &rec); err != nil {
			return nil, fmt.Errorf("%w: compact record: %w", ErrUnreadable, err)
		}
		return &rec, nil
	}
	if err := json.Unmarshal(plain, &rec); err != nil {
		// json errors may quote a byte of the plaintext: do not wrap them.
		return nil, fmt.Errorf("%w: record is not valid JSON", ErrUnreadable)
	}
	return &rec, nil
}

var errCompact = errors.New("malformed")

// decodeCompact decodes the compact layout of version v (compactVersion or
// compactVersion2) after its version byte.
func decodeCompact(b []byte, v byte, rec *Record) error {
	d := decoder{b: b}
	rec.Subject = d.str()
	rec.Provider = d.str()
	rec.SID = d.str()
	rec.AccessToken = d.token()
	rec.RefreshToken = d.token()
	rec.IDToken = d.token()
	rec.TokenType = d.str()
	rec.AccessExpiry = d.time()
	rec.AccessLifetime = time.Duration(d.varint())
	rec.Created = d.time()
	rec.AbsoluteExpiry = d.time()
	rec.Refreshed = int(d.varint())
	rec.ForcedRefreshAt = d.time()
	rec.RefreshFailures = int(d.varint())
	rec.RefreshRetryAt = d.time()
	rec.RefreshPendingSince = d.time()
	rec.RefreshPendingOwner = d.str()
	rec.LogoutHandle = d.str()
	rec.DPoPKey = d.str()
	fields := compactIndex
	if v == compactVersion {
		rec.Handle = d.str()
		rec.Device = d.str()
	} else {
		fields = compactIndex2
	}
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) { // each claim takes at least one byte
			return errCompact
		}
		rec.Claims = make(map[string]any, n)
		for range n {
			k := d.str()
			switch tag := d.byte(); tag {
			case 's':
				rec.Claims[k] = d.str()
			case 't', 'f':
				rec.Claims[k] = tag == 't'
			case 'n':
				rec.Claims[k] = d.float()
			case 'j':
				var v any
				if d.err == nil && json.Unmarshal(d.bytes(), &v) != nil {
					d.err = errCompact
				}
				rec.Claims[k] = v
			default:
				d.err = errCompact
			}
			if d.err != nil {
				return d.err
			}
		}
	}
	rest := d.bytes()
	if d.err != nil {
		return d.err
	}
	if len(d.b) > 0 { // nothing follows the rest
		return errCompact
	}
	if len(rest) > 0 {
		// Unmarshal into a separate value so that the rest can only add fields, not
		// replace the binary ones.
		var more Record
		if err := json.Unmarshal(rest, &more); err != nil {
			return errCompact
		}
		restore(rec, &more, fields)
	}
	return nil
}

// restore copies into rec the fields of more that the binary part (the fields at the
// indexes binary) does not carry.
func restore(rec, more *Record, binary [][]int) {
	dst, src := reflect.ValueOf(rec).Elem(), reflect.ValueOf(more).Elem()
	for i := range dst.NumField() {
		if !compactField(binary, i) {
			dst.Field(i).Set(src.Field(i))
		}
	}
}

func compactField(binary [][]int, i int) bool {
	for _, ix := range binary {
		if len(ix) == 1 && ix[0] == i {
			return true
		}
	}
	return false
}

func putStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// Token encodings: as text, or a JWT's three segments as the bytes their base64url
// stands for (a quarter smaller at rest).
const (
	tokenText byte = 0
	tokenJWT  byte = 1
)

var b64 = base64.RawURLEncoding.Strict()

// putToken writes tok as a JWT (when it is one whose segments are canonical base64url,
// so that re-encoding gives back the same text) or as text.
func putToken(b []byte, tok string) []byte {
	if segs := strings.Split(tok, "."); len(segs) == 3 && len(tok) > 0 {
		out := append(b, tokenJWT)
		ok := true
		for _, s := range segs {
			raw, err := b64.DecodeString(s)
			if err != nil || b64.EncodeToString(raw) != s {
				ok = false
				break
			}
			out = putStr(out, string(raw))
		}
		if ok {
			return out
		}
		// not a canonical JWT: written as text from len(b) on, over the attempt
	}
	return putStr(append(b, tokenText), tok)
}

// decoder reads the compact layout; the first error sticks and every read after it
// returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errCompact, nil }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint reads what binary.AppendVarint wrote (a zig-zag uvarint).
func (d *decoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// float reads what binary.BigEndian.AppendUint64 wrote of a finite float64.
func (d *decoder) float() float64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail()
		return 0
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	if math.IsNaN(f) || math.IsInf(f, 0) { // no JSON number: never written
		d.fail()
		return 0
	}
	d.b = d.b[8:]
	return f
}

// bytes is the next str, aliasing the input.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// str is the next str, sharing the input's bytes (decodeRecord's caller never writes them).
func (d *decoder) str() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec, nsec := d.varint(), d.uvarint()
		if nsec >= 1e9 {
			d.fail()
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec))
	}
	d.fail()
	return time.Time{}
}

func (d *decoder) token() string {
	switch d.byte() {
	case tokenText:
		return d.str()
	case tokenJWT:
		var segs [3][]byte
		n := 2
		for i := range segs {
			segs[i] = d.bytes()
			n += b64.EncodedLen(len(segs[i]))
		}
		if d.err != nil {
			return ""
		}
		out := make([]byte, 0, n)
		for i, s := range segs {
			if i > 0 {
				out = append(out, '.')
			}
			out = b64.AppendEncode(out, s)
		}
		return unsafe.String(unsafe.SliceData(out), len(out)) // out is never written again
	}
	d.fail()
	return ""
}

// bytesOf is s's bytes without a copy, for callers that only read them (a string's bytes
// must never be written).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
