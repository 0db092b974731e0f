package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinBucketPrecision(t *testing.T) {
	tests := []struct {
		name   string
		values func(i int) time.Duration
		n      int
		q      float64
		want   time.Duration
	}{
		{name: "uniform 1..100000ns p50", values: func(i int) time.Duration { return time.Duration(i + 1) }, n: 100000, q: 0.50, want: 50000},
		{name: "uniform 1..100000ns p99", values: func(i int) time.Duration { return time.Duration(i + 1) }, n: 100000, q: 0.99, want: 99000},
		{name: "constant 250µs p99", values: func(int) time.Duration { return 250 * time.Microsecond }, n: 1000, q: 0.99, want: 250 * time.Microsecond},
		{name: "small exact values p50", values: func(i int) time.Duration { return time.Duration(i % 20) }, n: 2000, q: 0.5, want: 9},
		{name: "bimodal: p99 sees the slow tail", values: func(i int) time.Duration {
			if i%50 == 0 {
				return 40 * time.Millisecond
			}
			return 100 * time.Microsecond
		}, n: 10000, q: 0.99, want: 40 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for i := range tc.n {
				h.Record(tc.values(i))
			}
			got := h.Quantile(tc.q)
			if diff := float64(got-tc.want) / float64(tc.want); diff > 1.0/histSub || diff < -1.0/histSub {
				t.Fatalf("Quantile(%v) = %v, want %v within %.1f%%", tc.q, got, tc.want, 100.0/histSub)
			}
		})
	}
}

func TestHistogramMergeEqualsRecordingEverything(t *testing.T) {
	var all, a, b Histogram
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		d := time.Duration(r.Int64N(int64(50 * time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a.Count() != all.Count() || a.Max() != all.Max() {
		t.Fatalf("merged count/max %d/%v, want %d/%v", a.Count(), a.Max(), all.Count(), all.Max())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Fatalf("q%v: merged %v, direct %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
}

func TestHistogramIndexIsMonotonicAndCoversInt64(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 20, 1<<62 + 12345, 1<<63 - 1} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d after %d (buckets %d)", v, i, prev, histBuckets)
		}
		if mid := histMid(i); v >= histSub && (float64(mid) < float64(v)*(1-1.0/histSub) || float64(mid) > float64(v)*(1+1.0/histSub)) {
			t.Fatalf("bucket %d midpoint %d too far from %d", i, mid, v)
		}
		prev = i
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 {
		t.Fatal("empty histogram has a quantile")
	}
}
