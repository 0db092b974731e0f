package handler_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenward/bff/internal/logbuf"
	"github.com/tokenward/bff/internal/testenv"
	"github.com/tokenward/bff/session"
)

// retiredKey is a session key the BFF under test does not hold (any more).
const retiredKey = "cmV0aXJlZC1rZXktcmV0aXJlZC1rZXktcmV0aXJlZCE="

// forger crafts sessions the way an attacker or an operator's mistake would leave them:
// it writes records into the BFF's own store with session keys of its choice, seals
// cookies, and edits the raw stored values.
type forger struct {
	t       *testing.T
	e       *testenv.Env
	keys    *session.KeyRing // the BFF's
	retired *session.KeyRing // a key the BFF does not have
	raw     *redis.Client
}

func newForger(t *testing.T, e *testenv.Env) *forger {
	t.Helper()
	keys, err := session.ParseKeys(e.Config.Session.Keys)
	if err != nil {
		t.Fatal(err)
	}
	retired, err := session.ParseKeys([]string{retiredKey})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(e.Config.Session.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(opt)
	t.Cleanup(func() { _ = raw.Close() })
	return &forger{t: t, e: e, keys: keys, retired: retired, raw: raw}
}

// record is a live session record of alice; edit adjusts it before it is saved.
func (f *forger) record(edit func(*session.Record)) *session.Record {
	now := time.Now()
	rec := &session.Record{
		Subject: "alice", SID: "op-session", LogoutHandle: session.NewLogoutHandle(),
		AccessToken: "at-" + session.NewLogoutHandle(), RefreshToken: "rt-" + session.NewLogoutHandle(),
		TokenType: "Bearer", AccessExpiry: now.Add(time.Hour),
		Created: now, AbsoluteExpiry: now.Add(time.Hour),
	}
	if edit != nil {
		edit(rec)
	}
	return rec
}

// save stores rec under a new session id, sealed with ring, and returns the id.
func (f *forger) save(ring *session.KeyRing, rec *session.Record) string {
	f.t.Helper()
	st, err := session.NewRedis(context.Background(), session.Options{
		URL: f.e.Config.Session.RedisURL, Keys: ring, IdleTimeout: time.Hour,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	defer st.Close()
	id, err := session.NewID()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := st.Save(context.Background(), id, rec); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// cookie seals id for the session cookie with ring.
func (f *forger) cookie(ring *session.KeyRing, id string) string {
	f.t.Helper()
	v, err := session.NewCookieCodec(ring, f.e.Config.Session.AbsoluteTimeout).Encode("__Host-bff", id)
	if err != nil {
		f.t.Fatal(err)
	}
	return "__Host-bff=" + v
}

// live stores a fresh record and returns its id and cookie header.
func (f *forger) live(edit func(*session.Record)) (id, cookie string) {
	id = f.save(f.keys, f.record(edit))
	return id, f.cookie(f.keys, id)
}

func (f *forger) key(id string) string { return "bff:s:" + session.IDHash(id) }

// field reads or writes one field of id's stored record hash (v: sealed value, a: expiry).
func (f *forger) field(id, name string) string {
	f.t.Helper()
	v, err := f.raw.HGet(context.Background(), f.key(id), name).Result()
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *forger) setField(id, name string, value any) {
	f.t.Helper()
	if err := f.raw.HSet(context.Background(), f.key(id), name, value).Err(); err != nil {
		f.t.Fatal(err)
	}
}

// hygieneEnv is a BFF on a store the test can reach directly (the real Redis with
// BFF_TEST_REDIS_URL, else a standalone miniredis), with its logs captured.
func hygieneEnv(t *testing.T) (*testenv.Env, *forger, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	o := testenv.Options{Log: logs}
	testenv.SharedRedis(t, &o)
	e := testenv.Start(t, o)
	return e, newForger(t, e), logs
}

// call sends one same-origin request with the CSRF header and the given Cookie header.
func call(t *testing.T, e *testenv.Env, method, path, cookie string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := e.NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// clearsSessionCookie reports whether resp expires the __Host-bff cookie, and fails the
// test when it sets one with other attributes than the session cookie's own.
func clearsSessionCookie(t *testing.T, resp *http.Response) bool {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name != "__Host-bff" {
			continue
		}
		if c.MaxAge >= 0 || c.Value != "" || c.Path != "/" || !c.Secure || !c.HttpOnly {
			t.Fatalf("Set-Cookie for __Host-bff is not a clearing one: %+v", c)
		}
		return true
	}
	return false
}

// TestStaleSessionCookiesAreClearedNotKept_CookieHygiene: a session cookie that does not
// open, or that names no live session, gets 401 problem+json AND a clearing Set-Cookie, on
// /bff/user and on a proxied API call: the browser stops sending a dead or hostile value.
// No cookie, or two session cookies (cookie tossing), get 401 and no Set-Cookie.
func TestStaleSessionCookiesAreClearedNotKept_CookieHygiene(t *testing.T) {
	e, f, _ := hygieneEnv(t)
	_, good := f.live(nil)
	flipped := []byte(good)
	flipped[len(flipped)-10] ^= 0x01

	type want struct {
		status int
		typ    string // problem type; "" for a 200
		clear  bool
	}
	unauth := want{http.StatusUnauthorized, "unauthenticated", true}
	kept := want{http.StatusUnauthorized, "unauthenticated", false}
	tests := []struct {
		name   string
		cookie func() string
		user   want // GET /bff/user
		api    want // GET /api/… (proxied)
	}{
		{name: "no cookie", cookie: func() string { return "" }, user: kept, api: kept},
		{name: "does not decode", cookie: func() string { return "__Host-bff=%%%not-base64%%%" }, user: unauth, api: unauth},
		{name: "forged (one byte flipped)", cookie: func() string { return string(flipped) }, user: unauth, api: unauth},
		{name: "oversized", cookie: func() string { return "__Host-bff=" + strings.Repeat("A", 4100) }, user: unauth, api: unauth},
		{name: "sealed with a retired key", cookie: func() string {
			id := f.save(f.keys, f.record(nil))
			return f.cookie(f.retired, id)
		}, user: unauth, api: unauth},
		{name: "unknown session", cookie: func() string {
			id, _ := session.NewID()
			return f.cookie(f.keys, id)
		}, user: unauth, api: unauth},
		{name: "ended session (logged out)", cookie: func() string {
			_, c := f.live(nil)
			if resp := call(t, e, http.MethodPost, "/bff/logout", c); resp.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			return c
		}, user: unauth, api: unauth},
		{name: "session past its absolute expiry", cookie: func() string {
			id, c := f.live(nil)
			f.setField(id, "a", time.Now().Add(-time.Minute).UnixMilli())
			return c
		}, user: unauth, api: unauth},
		{name: "record tampered in the store", cookie: func() string {
			id, c := f.live(nil)
			v := []byte(f.field(id, "v"))
			v[len(v)/2] ^= 0x01
			f.setField(id, "v", v)
			return c
		}, user: unauth, api: unauth},
		{name: "record moved from another session id", cookie: func() string {
			victim, _ := f.live(nil)
			attacker, c := f.live(nil)
			f.setField(attacker, "v", f.field(victim, "v"))
			return c
		}, user: unauth, api: unauth},
		{name: "record sealed with a retired key", cookie: func() string {
			id := f.save(f.retired, f.record(nil))
			return f.cookie(f.keys, id)
		}, user: unauth, api: unauth},
		{name: "refresh refused by the IdP (invalid_grant)", cookie: func() string {
			_, c := f.live(func(r *session.Record) { r.AccessExpiry = time.Now().Add(-time.Minute) })
			return c
		}, user: want{http.StatusOK, "", false}, api: want{http.StatusUnauthorized, "session_expired", true}},
		{name: "two session cookies (tossing)", cookie: func() string {
			_, a := f.live(nil)
			_, b := f.live(nil)
			return a + "; " + b
		}, user: kept, api: kept},
		{name: "a live session cookie and a forged one", cookie: func() string {
			_, a := f.live(nil)
			return a + "; " + string(flipped)
		}, user: kept, api: kept},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, ep := range []struct {
				path string
				want want
			}{{"/bff/user", tc.user}, {"/api/orders/7", tc.api}} {
				resp := call(t, e, http.MethodGet, ep.path, tc.cookie())
				body := testenv.ReadAll(t, resp)
				if resp.StatusCode != ep.want.status {
					t.Fatalf("%s: %d %s, want %d", ep.path, resp.StatusCode, body, ep.want.status)
				}
				if ep.want.typ != "" && (resp.Header.Get("Content-Type") != "application/problem+json" ||
					!strings.Contains(body, `"type":"`+ep.want.typ+`"`)) {
					t.Fatalf("%s: %s %s, want problem type %s", ep.path, resp.Header.Get("Content-Type"), body, ep.want.typ)
				}
				if got := clearsSessionCookie(t, resp); got != ep.want.clear {
					t.Fatalf("%s: clearing Set-Cookie = %v, want %v (%v)", ep.path, got, ep.want.clear, resp.Header.Values("Set-Cookie"))
				}
			}
		})
	}
}

// TestRefusedRecordIsOneSecurityEvent_StoreTampering: a stored record that does not open
// (altered, moved under another id, or sealed by a key no longer in the ring) logs exactly
// one WARN line per request with a stable event attribute and its reason, holding no
// session id, id hash, key or cookie value, and counts in bff_session_rejected_total.
// Duplicate and undecodable cookies count there too; a merely ended session does not.
func TestRefusedRecordIsOneSecurityEvent_StoreTampering(t *testing.T) {
	e, f, logs := hygieneEnv(t)
	tests := []struct {
		name   string
		reason string
		log    bool
		cookie func() (id, cookie string)
	}{
		{name: "record tampered", reason: "record_forged", log: true, cookie: func() (string, string) {
			id, c := f.live(nil)
			v := []byte(f.field(id, "v"))
			v[len(v)-3] ^= 0x01
			f.setField(id, "v", v)
			return id, c
		}},
		{name: "record moved", reason: "record_forged", log: true, cookie: func() (string, string) {
			victim, _ := f.live(nil)
			attacker, c := f.live(nil)
			f.setField(attacker, "v", f.field(victim, "v"))
			return attacker, c
		}},
		{name: "record under a retired key", reason: "record_unknown_key", log: true, cookie: func() (string, string) {
			id := f.save(f.retired, f.record(nil))
			return id, f.cookie(f.keys, id)
		}},
		{name: "record not in the sealed format", reason: "record_malformed", log: true, cookie: func() (string, string) {
			id, c := f.live(nil)
			f.setField(id, "v", "not a sealed record")
			return id, c
		}},
		{name: "cookie does not open", reason: "cookie_invalid", cookie: func() (string, string) {
			return "", "__Host-bff=" + strings.Repeat("A", 60)
		}},
		{name: "two session cookies", reason: "cookie_duplicate", cookie: func() (string, string) {
			_, a := f.live(nil)
			_, b := f.live(nil)
			return "", a + "; " + b
		}},
		{name: "ended session", cookie: func() (string, string) {
			id, c := f.live(nil)
			if err := f.raw.Del(context.Background(), f.key(id)).Err(); err != nil {
				t.Fatal(err)
			}
			return id, c
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, cookie := tc.cookie()
			series := `bff_session_rejected_total{reason="` + tc.reason + `"}`
			before := ""
			if tc.reason != "" {
				before = testenv.MetricValue(t, e.Scrape(t), series)
			}
			allBefore := rejectedTotal(t, e)
			mark := len(logs.String())
			resp := call(t, e, http.MethodGet, "/bff/user", cookie)
			testenv.ReadAll(t, resp)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			text := e.Scrape(t)
			if tc.reason == "" {
				if after := rejectedTotal(t, e); after != allBefore {
					t.Fatalf("an ended session counted as rejected: %v -> %v", allBefore, after)
				}
			} else if after := testenv.MetricValue(t, text, series); after != increment(t, before) {
				t.Fatalf("%s: %s -> %s, want +1", series, before, after)
			}
			var events []string
			for _, line := range strings.Split(logs.String()[mark:], "\n") {
				if strings.Contains(line, "event=session_record_rejected") {
					events = append(events, line)
				}
			}
			if !tc.log {
				if len(events) != 0 {
					t.Fatalf("security event for %s: %q", tc.name, events)
				}
				return
			}
			if len(events) != 1 || !strings.Contains(events[0], "level=WARN") ||
				!strings.Contains(events[0], "reason="+tc.reason) {
				t.Fatalf("want one WARN session_record_rejected line with reason=%s, got %q", tc.reason, events)
			}
			value := strings.TrimPrefix(cookie, "__Host-bff=")
			for _, secret := range []string{id, session.IDHash(id), session.IDHash(id)[:12], value} {
				if strings.Contains(events[0], secret) {
					t.Fatalf("the security event holds an id, its hash or the cookie: %q", events[0])
				}
			}
		})
	}
}

// rejectedTotal sums every bff_session_rejected_total series.
func rejectedTotal(t *testing.T, e *testenv.Env) float64 {
	t.Helper()
	sum := 0.0
	for _, r := range []string{"cookie_invalid", "cookie_duplicate", "record_forged", "record_unknown_key", "record_malformed", "other"} {
		sum += parseFloat(t, testenv.MetricValue(t, e.Scrape(t), `bff_session_rejected_total{reason="`+r+`"}`))
	}
	return sum
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("metric value %q: %v", s, err)
	}
	return v
}

// increment is s + 1 as the exposition format writes it.
func increment(t *testing.T, s string) string {
	t.Helper()
	return strconv.FormatFloat(parseFloat(t, s)+1, 'g', -1, 64)
}
