package session

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"
)

// BenchmarkStoreGet measures the hot path (one Get: one EVALSHA, then opening the record)
// for allocations per call, for each record format: on the Redis of BFF_TEST_REDIS_URL
// when set (the client's allocations alone), else on the embedded store (whose in-process
// server allocates too).
func BenchmarkStoreGet(b *testing.B) {
	for _, f := range []struct {
		name   string
		format RecordFormat
	}{{"json", RecordJSON}, {"compact", RecordCompact}} {
		b.Run(f.name, func(b *testing.B) { benchmarkStoreGet(b, f.format) })
	}
}

func benchmarkStoreGet(b *testing.B, format RecordFormat) {
	opts := Options{Keys: mustRing(b, newTestKey(b)), IdleTimeout: time.Hour, RecordFormat: format}
	var (
		s   Store
		err error
	)
	if url := os.Getenv("BFF_TEST_REDIS_URL"); url != "" {
		opts.URL, opts.KeyPrefix = url, "bffbench:"+rand.Text()[:12]+":"
		s, err = NewRedis(b.Context(), opts)
	} else {
		s, _, err = newEmbedded(opts, 0, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	id := mustID(b)
	b.Cleanup(func() {
		_, _ = s.DeleteBySubject(context.Background(), "sub-bench") // b.Context() has ended
		_ = s.Close()
	})
	rec := sampleRecord(time.Now(), "bench")
	if err := s.Save(b.Context(), id, rec); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(b.Context(), id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenRecord is openRecord alone (AES-GCM open and decode) of a realistic record.
func BenchmarkOpenRecord(b *testing.B) {
	for _, f := range []struct {
		name   string
		format RecordFormat
	}{{"json", RecordJSON}, {"compact", RecordCompact}} {
		b.Run(f.name, func(b *testing.B) {
			ring, idHash := mustRing(b, newTestKey(b)), IDHash(mustID(b))
			sealed, err := sealRecordAs(ring, idHash, realisticRecord(time.Now()), f.format)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ReportMetric(float64(len(sealed)), "sealed-bytes")
			for b.Loop() {
				if _, err := openRecord(ring, idHash, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
