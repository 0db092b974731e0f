package dpop

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustKey(t testing.TB, alg string) *Key {
	t.Helper()
	k, err := NewKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestVerify: a proof passes only when every bound part matches; each case breaks one.
func TestVerify(t *testing.T) {
	key, other := mustKey(t, ES256), mustKey(t, ES256)
	api := mustURL(t, "https://api.example/orders?page=2#x")
	good := Params{Method: "POST", URL: api, AccessToken: "at-1", Nonce: "n1", Now: t0}
	check := Check{Method: "POST", URL: mustURL(t, "https://API.example:443/orders"), AccessToken: "at-1", JKT: key.JKT(), Nonce: "n1"}
	cases := []struct {
		name  string
		key   *Key
		edit  func(p *Params, c *Check)
		proof string
		want  error
	}{
		{name: "valid", edit: func(*Params, *Check) {}},
		{name: "other method", edit: func(_ *Params, c *Check) { c.Method = "GET" }, want: ErrInvalidProof},
		{name: "other path", edit: func(_ *Params, c *Check) { c.URL = mustURL(t, "https://api.example/admin") }, want: ErrInvalidProof},
		{name: "other host", edit: func(_ *Params, c *Check) { c.URL = mustURL(t, "https://evil.example/orders") }, want: ErrInvalidProof},
		{name: "other token", edit: func(_ *Params, c *Check) { c.AccessToken = "at-2" }, want: ErrInvalidProof},
		{name: "no ath for a resource", edit: func(p *Params, _ *Check) { p.AccessToken = "" }, want: ErrInvalidProof},
		{name: "ath on a token request", edit: func(_ *Params, c *Check) { c.AccessToken = "" }, want: ErrInvalidProof},
		{name: "other key than cnf.jkt", key: other, want: ErrInvalidProof},
		{name: "missing nonce", edit: func(p *Params, _ *Check) { p.Nonce = "" }, want: ErrUseNonce},
		{name: "stale nonce", edit: func(p *Params, _ *Check) { p.Nonce = "n0" }, want: ErrUseNonce},
		{name: "iat too old", edit: func(p *Params, _ *Check) { p.Now = t0.Add(-2 * time.Minute) }, want: ErrInvalidProof},
		{name: "iat in the future", edit: func(p *Params, _ *Check) { p.Now = t0.Add(2 * time.Minute) }, want: ErrInvalidProof},
		{name: "empty", proof: "-", want: ErrInvalidProof},
		{name: "garbage", proof: "a.b.c", want: ErrInvalidProof},
		{name: "unsigned", proof: "eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.e30.", want: ErrInvalidProof},
		{name: "tampered", proof: "tamper", want: ErrInvalidProof},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, c := good, check
			if tc.edit != nil {
				tc.edit(&p, &c)
			}
			k := key
			if tc.key != nil {
				k = tc.key
			}
			proof, err := k.Proof(p)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.proof {
			case "":
			case "-":
				proof = ""
			case "tamper":
				parts := strings.Split(proof, ".")
				proof = parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
			default:
				proof = tc.proof
			}
			got, err := NewVerifier(func() time.Time { return t0 }, 0).Verify(proof, c)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if tc.want == nil && got.JKT != key.JKT() {
				t.Fatalf("jkt %q, want %q", got.JKT, key.JKT())
			}
		})
	}
}

// TestVerifyRefusesReplay: the same proof twice is refused the second time; a fresh one
// for the same request passes.
func TestVerifyRefusesReplay(t *testing.T) {
	key := mustKey(t, ES256)
	u := mustURL(t, "https://api.example/x")
	v := NewVerifier(func() time.Time { return t0 }, 0)
	p := Params{Method: "GET", URL: u, AccessToken: "at", Now: t0}
	c := Check{Method: "GET", URL: u, AccessToken: "at"}
	proof, _ := key.Proof(p)
	if _, err := v.Verify(proof, c); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(proof, c); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v, want ErrReplay", err)
	}
	fresh, _ := key.Proof(p)
	if _, err := v.Verify(fresh, c); err != nil {
		t.Fatalf("fresh proof: %v", err)
	}
}

// TestKeyRoundTrip: every algorithm's key survives the record (MarshalPrivate,
// ParseKey) with its thumbprint, its proofs verify, and no printed form shows the
// private key.
func TestKeyRoundTrip(t *testing.T) {
	for _, alg := range Supported() {
		t.Run(alg, func(t *testing.T) {
			k := mustKey(t, alg)
			b, err := k.MarshalPrivate()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseKey(b)
			if err != nil {
				t.Fatal(err)
			}
			if back.JKT() != k.JKT() || back.Algorithm() != alg {
				t.Fatalf("round trip: %s %s, want %s %s", back.JKT(), back.Algorithm(), k.JKT(), alg)
			}
			u := mustURL(t, "https://idp.example/token")
			proof, err := back.Proof(Params{Method: "POST", URL: u})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewVerifier(nil, 0).Verify(proof, Check{Method: "POST", URL: u, JKT: k.JKT()}); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{k.String(), fmtAll(k)} {
				if strings.Contains(s, `"d"`) || !strings.Contains(s, k.JKT()) {
					t.Fatalf("printed key %q", s)
				}
			}
		})
	}
	if _, err := NewKey("HS256"); !errors.Is(err, ErrKey) {
		t.Fatalf("HS256: %v", err)
	}
	pub, _ := mustKey(t, ES256).public.MarshalJSON()
	if _, err := ParseKey(pub); !errors.Is(err, ErrKey) {
		t.Fatalf("public JWK accepted as a private key: %v", err)
	}
}

// TestHTU: query and fragment dropped, scheme and host lower case, default port dropped.
func TestHTU(t *testing.T) {
	for in, want := range map[string]string{
		"https://API.Example:443/a/b?q=1#f": "https://api.example/a/b",
		"http://h:80":                       "http://h/",
		"http://h:8080/x%2Fy":               "http://h:8080/x%2Fy",
		"https://[::1]:443/p":               "https://[::1]/p",
	} {
		if got := HTU(mustURL(t, in)); got != want {
			t.Errorf("HTU(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzVerify: no input makes the verifier panic, and only a proof the key signed passes.
func FuzzVerify(f *testing.F) {
	key := mustKey(f, ES256)
	u := mustURL(f, "https://api.example/x")
	proof, _ := key.Proof(Params{Method: "GET", URL: u, Now: t0})
	f.Add(proof)
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		v := NewVerifier(func() time.Time { return t0 }, 0)
		p, err := v.Verify(s, Check{Method: "GET", URL: u})
		if err == nil && p.JKT == "" {
			t.Fatal("accepted a proof without a key")
		}
		if err != nil && !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("error %v does not wrap ErrInvalidProof", err)
		}
	})
}

// TestVerifyRefusesOtherTyp: a JWS signed by the key with its jwk but typ JWT is no proof.
func TestVerifyRefusesOtherTyp(t *testing.T) {
	key := mustKey(t, ES256)
	u := mustURL(t, "https://idp.example/token")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.signer}, (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims{JTI: "j", HTM: "POST", HTU: HTU(u), IAT: t0.Unix()})
	jws, _ := s.Sign(payload)
	proof, _ := jws.CompactSerialize()
	if _, err := NewVerifier(func() time.Time { return t0 }, 0).Verify(proof, Check{Method: "POST", URL: u}); !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("typ JWT: %v", err)
	}
}

// TestVerifierReplayCacheIsBounded: with the cache full of unexpired proofs a new proof
// is refused (ErrReplayCacheFull, an ErrInvalidProof: fail closed) and a replay is still
// a replay; once the entries expire (twice the window) a new proof is accepted again.
func TestVerifierReplayCacheIsBounded(t *testing.T) {
	key := mustKey(t, ES256)
	u := mustURL(t, "https://api.example/x")
	now := t0
	v := NewVerifier(func() time.Time { return now }, 0)
	v.SetMaxEntries(2)
	c := Check{Method: "GET", URL: u, AccessToken: "at"}
	proofAt := func(at time.Time) string {
		t.Helper()
		p, err := key.Proof(Params{Method: "GET", URL: u, AccessToken: "at", Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := proofAt(now)
	for _, p := range []string{first, proofAt(now)} {
		if _, err := v.Verify(p, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.Verify(proofAt(now), c); !errors.Is(err, ErrReplayCacheFull) || !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("third proof with the cache full: %v, want ErrReplayCacheFull", err)
	}
	if _, err := v.Verify(first, c); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay with the cache full: %v, want ErrReplay", err)
	}
	now = now.Add(2*DefaultWindow + time.Second)
	if _, err := v.Verify(proofAt(now), c); err != nil {
		t.Fatalf("after the entries expired: %v", err)
	}
}
