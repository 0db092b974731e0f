package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

var errTest = errors.New("test")

func TestSpreadAndSample(t *testing.T) {
	if s := spreadOf([]int64{10, 30, 20}); s.mean != 20 || s.min != 10 || s.max != 30 {
		t.Fatalf("spread %+v", s)
	}
	if s := spreadOf(nil); s != (spread{}) {
		t.Fatalf("spread of nothing %+v", s)
	}
	keys := []string{"a", "b", "c", "d", "e", "f"}
	if got := strings.Join(sampleEvenly(keys, 3), ","); got != "a,c,e" {
		t.Fatalf("sample %s, want a,c,e", got)
	}
	if got := sampleEvenly(keys, 10); len(got) != len(keys) {
		t.Fatalf("sample of more than there are: %v", got)
	}
}

// TestMeasureSessionBytesCountsOnlyTheRunsKeys: records are the bff:s: keys the run added
// (a key there before is neither sampled nor summed), their value length is field v's, and
// the per-session figure sums every key the run added (indexes too).
func TestMeasureSessionBytesCountsOnlyTheRunsKeys(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	m.HSet("bff:s:old", "v", strings.Repeat("x", 5000)) // another run's
	before, err := bffKeys(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m.HSet(fmt.Sprintf("bff:s:%064d", i), "v", strings.Repeat("v", 1000), "a", "1")
	}
	if _, err := m.SAdd("bff:sub:x", "1", "2", "3"); err != nil {
		t.Fatal(err)
	}
	m.Set("other:key", "not the BFF's")
	got, err := measureSessionBytes(ctx, c, before, 3, false) // miniredis refuses SAMPLES
	if err != nil {
		t.Fatal(err)
	}
	if got.records != 3 || got.sampled != 3 || got.allKeys != 4 || got.sessions != 3 {
		t.Fatalf("counted %+v; want 3 records sampled, 4 keys", got)
	}
	if got.value != (spread{mean: 1000, min: 1000, max: 1000}) {
		t.Fatalf("value length %+v, want 1000", got.value)
	}
	if got.record.min < 1000 || got.record.max >= 5000 || got.allBytes <= int64(3*got.record.min) {
		t.Fatalf("memory: record %+v, all %d", got.record, got.allBytes)
	}
}

// TestSessionBytesReport: the ratios are over the mean token set, the goal verdict
// follows the record's ratio, and a missing reference says so instead of dividing by 0.
func TestSessionBytesReport(t *testing.T) {
	base := sessionBytes{sessions: 10, records: 10, sampled: 10, allKeys: 30, allBytes: 30000,
		record: spread{mean: 2080, min: 2072, max: 2088}, value: spread{mean: 1430, min: 1420, max: 1440}}
	tokens := []tokenSizes{{access: 800, refresh: 100, id: 700}, {access: 802, refresh: 100, id: 698}}
	tests := []struct {
		name   string
		record float64
		tokens []tokenSizes
		want   []string
	}{
		{name: "over the goal", record: 2080, tokens: tokens, want: []string{
			"record 2080 (2072..2088), its sealed value (HSTRLEN v) 1430 (1420..1440); every key the run added (30 keys, indexes included) 3000 per session",
			"2 flows): 1600 (1600..1600; access 801, refresh 100, ID 699)",
			"record/tokens 1.30 (goal <= 1.30: MET), sealed value/tokens 0.89, every key/tokens 1.88",
		}},
		{name: "under the goal", record: 2100, tokens: tokens, want: []string{"record/tokens 1.31 (goal <= 1.30: NOT MET)"}},
		{name: "no reference", record: 2080, want: []string{"raw token bytes: not measured"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			s.record.mean, s.tokens = tc.record, tc.tokens
			var out bytes.Buffer
			s.print(&out)
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("missing %q in:\n%s", w, out.String())
				}
			}
		})
	}
}
