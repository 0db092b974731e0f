package bff

import (
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/session"
)

// TestRecordFormatSettingReachesTheStore: session.recordFormat decides what openStore's
// store writes. A compact record of a JWT-bearing session is markedly smaller at rest
// than the JSON one (its tokens are stored as bytes), and each store reads the other's.
func TestRecordFormatSettingReachesTheStore(t *testing.T) {
	mr := miniredis.RunT(t)
	key, err := session.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := session.ParseKeys([]string{key})
	if err != nil {
		t.Fatal(err)
	}
	seg := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("claims", 200)))
	jwt := seg + "." + seg + "." + seg
	now := time.Now()
	rec := &session.Record{Subject: "s", AccessToken: jwt, IDToken: jwt, TokenType: "Bearer",
		AccessExpiry: now.Add(time.Hour), Created: now, AbsoluteExpiry: now.Add(time.Hour)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	stores, ids := map[string]session.Store{}, map[string]string{}
	size := map[string]int{}
	for _, format := range []string{"json", "compact"} {
		st, err := openStore(t.Context(), config.Session{Store: "redis", RedisURL: "redis://" + mr.Addr(),
			IdleTimeout: time.Hour, RecordFormat: format}, keys, nil, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		id, _ := session.NewID()
		if err := st.Save(t.Context(), id, rec); err != nil {
			t.Fatal(err)
		}
		stores[format], ids[format] = st, id
		size[format] = len(mr.HGet("bff:s:"+session.IDHash(id), "v"))
	}
	if size["compact"] == 0 || size["compact"]*100 > size["json"]*80 {
		t.Fatalf("sealed sizes json %d, compact %d: the compact setting did not reach the store", size["json"], size["compact"])
	}
	for reader, st := range stores {
		for writer, id := range ids {
			got, err := st.Get(t.Context(), id)
			if err != nil || got.AccessToken != jwt {
				t.Fatalf("a %s store reading a %s record: %v", reader, writer, err)
			}
		}
	}
}
