package session

import (
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisBytesPerSession measures what one realistic session costs in a real Redis
// (MEMORY USAGE of its record, and of its sid and subject index sets) in each record
// format, against its raw token bytes. Needs BFF_TEST_REDIS_URL.
func TestRedisBytesPerSession(t *testing.T) {
	url := os.Getenv("BFF_TEST_REDIS_URL")
	if url == "" {
		t.Skip("BFF_TEST_REDIS_URL not set")
	}
	ropts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(ropts)
	t.Cleanup(func() { _ = raw.Close() })
	rec := realisticRecord(time.Now())
	tokens := int64(len(rec.AccessToken) + len(rec.RefreshToken) + len(rec.IDToken))
	var jsonRecord int64
	for _, f := range []RecordFormat{RecordJSON, RecordCompact} {
		// A prefix as long as the default "bff:", so that the key name costs what it costs in
		// production (Redis rounds each allocation up: a longer one adds 16 bytes or more).
		prefix := rand.Text()[:3] + ":"
		st, err := NewRedis(t.Context(), Options{URL: url, Keys: mustRing(t, newTestKey(t)), IdleTimeout: time.Hour, KeyPrefix: prefix, RecordFormat: f})
		if err != nil {
			t.Fatal(err)
		}
		id := mustID(t)
		if err := st.Save(t.Context(), id, rec); err != nil {
			t.Fatal(err)
		}
		keys, err := raw.Keys(t.Context(), prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		var record, indexes int64
		for _, k := range keys {
			n, err := raw.MemoryUsage(t.Context(), k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if k == prefix+"s:"+IDHash(id) {
				record = n
			} else {
				indexes += n
			}
		}
		t.Logf("format %d: record %d bytes, %d index keys %d bytes; raw tokens %d bytes: record/tokens %.2f, all/tokens %.2f",
			f, record, len(keys)-1, indexes, tokens, float64(record)/float64(tokens), float64(record+indexes)/float64(tokens))
		if _, err := st.DeleteBySubject(t.Context(), rec.Subject); err != nil {
			t.Fatal(err)
		}
		_ = st.Close()
		if f == RecordJSON {
			jsonRecord = record
		}
		// Measured: json 1.62×, compact 1.297× the token bytes (docs/performance.md).
		if f == RecordCompact && (float64(record) > 1.30*float64(tokens) || float64(record) > 0.85*float64(jsonRecord)) {
			t.Errorf("compact record takes %d bytes in Redis (json %d), more than 1.30× its %d token bytes or 0.85× json", record, jsonRecord, tokens)
		}
	}
}
