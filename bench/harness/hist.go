package main

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets (HDR style): 32 linear sub-buckets per
// power of two of nanoseconds, so a quantile is exact to within 1/32 (about 3%) whatever
// the scale, in a fixed 15 KiB. Not safe for concurrent use: give each worker its own and
// Merge them.
type Histogram struct {
	counts [histBuckets]uint64
	total  uint64
	max    time.Duration
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	// histBuckets covers every positive int64: the top bucket index is
	// (63-histSubBits)*histSub + histSub-1.
	histBuckets = (64 - histSubBits) * histSub
)

// histIndex is v's bucket: v itself below histSub, else the power of two and the top
// histSubBits+1 bits of v.
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histMid is the midpoint of bucket i's value range.
func histMid(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	low := uint64(i%histSub+histSub) << shift
	return low + (uint64(1)<<shift)/2
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[histIndex(uint64(d))]++
	h.total++
	h.max = max(h.max, d)
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest observation, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the q-quantile (0 < q <= 1), 0 when empty: the midpoint of the bucket
// holding the observation of rank ceil(q*count), never more than Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.999999)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(histMid(i)), h.max)
		}
	}
	return h.max
}
