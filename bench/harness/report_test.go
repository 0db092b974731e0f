package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func result(target string, ok uint64) *Result {
	r := &Result{Target: target, OK: ok, Window: time.Second, Failures: map[string]uint64{}}
	r.Latency.Record(time.Millisecond)
	return r
}

// TestRatiosPairRoundsNotTotals: a ratio is taken within each round (the interleaving's
// point) and the median of those is reported, so one noisy round cannot swing it.
func TestRatiosPairRoundsNotTotals(t *testing.T) {
	tests := []struct {
		name      string
		bff       []uint64
		plain     []uint64
		want      float64
		wantGoal  string
		wantRound string
	}{
		{name: "steady", bff: []uint64{900, 880, 910}, plain: []uint64{1000, 1000, 1000}, want: 0.9, wantGoal: "MET", wantRound: "0.900 0.880 0.910"},
		{name: "a noisy round is outvoted", bff: []uint64{800, 100, 820}, plain: []uint64{1000, 1000, 1000}, want: 0.8, wantGoal: "NOT MET"},
		{name: "noise that hits both alike cancels", bff: []uint64{900, 450, 900}, plain: []uint64{1000, 500, 1000}, want: 0.9, wantGoal: "MET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRounds([]string{targetDirect, targetPlain, targetBFF})
			for i := range tc.bff {
				r.add(result(targetDirect, 2000))
				r.add(result(targetPlain, tc.plain[i]))
				r.add(result(targetBFF, tc.bff[i]))
			}
			got, _ := r.ratio(targetBFF, targetPlain)
			if d := got - tc.want; d > 1e-9 || d < -1e-9 {
				t.Fatalf("bff/plain = %v, want %v", got, tc.want)
			}
			var out bytes.Buffer
			r.print(&out)
			if !strings.Contains(out.String(), "goal >= 0.85: "+tc.wantGoal+"\n") || !strings.Contains(out.String(), tc.wantRound) {
				t.Fatalf("summary:\n%s", out.String())
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "empty", in: nil, want: 0},
		{name: "odd", in: []float64{3, 1, 2}, want: 2},
		{name: "even", in: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("%s: median(%v) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestParseCommandStats(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_evalsha:calls=66441,usec=1139038,usec_per_call=17.14,rejected_calls=0,failed_calls=6\r\n" +
		"cmdstat_eval:calls=6,usec=506,usec_per_call=84.33\r\nnot a stat\r\n"
	got := parseCommandStats(info)
	if got["evalsha"] != 66441 || got["eval"] != 6 || len(got) != 2 {
		t.Fatalf("parsed %v", got)
	}
	d := callsDelta(map[string]uint64{"evalsha": 10, "get": 5}, map[string]uint64{"evalsha": 25, "get": 5, "hmget": 3})
	if d["evalsha"] != 15 || d["hmget"] != 3 || len(d) != 2 {
		t.Fatalf("delta %v", d)
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 5s test @ http://127.0.0.1:1/api/items/42
  1 threads and 64 connections
  Latency Distribution
     50%    2.10ms
     75%    3.00ms
     90%    4.00ms
     99%   12.50ms
  60000 requests in 5.00s, 80.00MB read
  Non-2xx or 3xx responses: 7
Requests/sec:  12000.50
Transfer/sec:     16.00MB
`
	r, err := parseWrk("bff", out)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 12000.50 || r.p50 != "2.10ms" || r.p99 != "12.50ms" || r.non2xx != 7 {
		t.Fatalf("parsed %+v", r)
	}
	if _, err := parseWrk("bff", "unable to connect"); err == nil {
		t.Fatal("parsed nothing without an error")
	}
}

func TestParseProcStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{name: "plain", stat: "1234 (bff) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0",
			want: 3 * time.Second},
		{name: "a command name with spaces and parentheses", stat: "1234 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0",
			want: 100 * time.Millisecond},
		{name: "truncated", stat: "1234 (bff) S 1 2", wantErr: true},
		{name: "garbage", stat: "nothing here", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcStatCPU(tc.stat)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestRoundOrderRotatesSoNoTargetAlwaysFollowsTheSameOne(t *testing.T) {
	ts := []Target{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	names := func(v []Target) string {
		var s []string
		for _, x := range v {
			s = append(s, x.Name)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name   string
		round  int
		rotate bool
		want   string
	}{
		{name: "first round as given", round: 1, rotate: true, want: "a,b,c"},
		{name: "second round shifted", round: 2, rotate: true, want: "b,c,a"},
		{name: "third round shifted twice", round: 3, rotate: true, want: "c,a,b"},
		{name: "fourth round wraps", round: 4, rotate: true, want: "a,b,c"},
		{name: "no rotation", round: 2, rotate: false, want: "a,b,c"},
	}
	for _, tc := range tests {
		if got := names(roundOrder(ts, tc.round, tc.rotate)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if names(ts) != "a,b,c" {
		t.Fatal("roundOrder modified its input")
	}
}

// TestLatencyRatios: p50 and p99 of one target over another's, each over all rounds; a
// target without results prints nothing.
func TestLatencyRatios(t *testing.T) {
	r := newRounds([]string{targetPlain, targetBFF})
	for range 3 {
		p, b := result(targetPlain, 1000), result(targetBFF, 900)
		p.Latency, b.Latency = Histogram{}, Histogram{}
		for i := range 100 {
			d := time.Duration(1+i) * time.Millisecond
			p.Latency.Record(d)
			if i >= 90 { // the same middle, a tail twice as long
				d *= 2
			}
			b.Latency.Record(d)
		}
		r.add(p)
		r.add(b)
	}
	var out bytes.Buffer
	r.print(&out)
	if !strings.Contains(out.String(), "latency bff/plain = p50 1.00, p99 2.00 (all rounds)\n") {
		t.Fatalf("summary:\n%s", out.String())
	}
	if strings.Contains(out.String(), "latency bff-alt") {
		t.Fatalf("a ratio for a target that did not run:\n%s", out.String())
	}
}
