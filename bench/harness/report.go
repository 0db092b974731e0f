package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Target names, in the order of every round.
const (
	targetDirect = "direct"
	targetPlain  = "plain"
	targetBFF    = "bff"
	targetAlt    = "bff-alt"
)

// bffPlainGoal is the target for bff/plain throughput at 64 connections.
const bffPlainGoal = 0.85

// rounds collects the results of the interleaved rounds, per target.
type rounds struct {
	order []string
	res   map[string][]*Result
}

func newRounds(order []string) *rounds {
	return &rounds{order: order, res: map[string][]*Result{}}
}

func (r *rounds) add(res *Result) { r.res[res.Target] = append(r.res[res.Target], res) }

// throughputs is the req/s of each round of target.
func (r *rounds) throughputs(target string) []float64 {
	var out []float64
	for _, res := range r.res[target] {
		out = append(out, res.Throughput())
	}
	return out
}

// ratio is the median over rounds of num's req/s divided by den's in the same round
// (rounds pair up because they are interleaved), with the per-round values.
func (r *rounds) ratio(num, den string) (float64, []float64) {
	a, b := r.throughputs(num), r.throughputs(den)
	var per []float64
	for i := range min(len(a), len(b)) {
		if b[i] > 0 {
			per = append(per, a[i]/b[i])
		}
	}
	return median(per), per
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// printRound prints one result line as it arrives.
func printRound(w io.Writer, round int, res *Result) {
	fmt.Fprintf(w, "  round %d  %-7s %9.0f req/s  p50 %-9v p99 %-9v cpu/req %-8s failures %d\n", round, res.Target,
		res.Throughput(), roundDur(res.Latency.Quantile(0.50)), roundDur(res.Latency.Quantile(0.99)),
		formatCPU(res.CPUPerRequest()), res.FailureCount())
}

// print writes the summary table and the ratios.
func (r *rounds) print(w io.Writer) {
	fmt.Fprintf(w, "\n%-7s %12s %21s %10s %10s %9s %9s\n", "target", "req/s (med)", "min..max", "p50", "p99", "cpu/req", "failures")
	for _, t := range r.order {
		if len(r.res[t]) == 0 {
			continue
		}
		h := r.latency(t)
		var fails uint64
		for _, res := range r.res[t] {
			fails += res.FailureCount()
		}
		tp := r.throughputs(t)
		fmt.Fprintf(w, "%-7s %12.0f %10.0f..%-10.0f %10v %10v %9s %9d\n", t, median(tp), slices.Min(tp), slices.Max(tp),
			roundDur(h.Quantile(0.50)), roundDur(h.Quantile(0.99)), formatCPU(r.cpuPerRequest(t)), fails)
	}
	fmt.Fprintln(w)
	r.printRatio(w, targetBFF, targetPlain, bffPlainGoal)
	r.printRatio(w, targetPlain, targetDirect, 0)
	r.printRatio(w, targetAlt, targetBFF, 0)
	r.printRatio(w, targetAlt, targetPlain, bffPlainGoal)
	for _, pair := range [][2]string{{targetBFF, targetPlain}, {targetAlt, targetBFF}} {
		if a, b := r.cpuPerRequest(pair[0]), r.cpuPerRequest(pair[1]); a > 0 && b > 0 {
			fmt.Fprintf(w, "CPU per request %s/%s = %.2f (the proxies' own CPU, from /proc)\n", pair[0], pair[1], float64(a)/float64(b))
		}
	}
	for _, pair := range [][2]string{{targetBFF, targetPlain}, {targetAlt, targetPlain}, {targetAlt, targetBFF}} {
		r.printLatencyRatio(w, pair[0], pair[1])
	}
}

// latency is target's latency over all its rounds.
func (r *rounds) latency(target string) *Histogram {
	var h Histogram
	for _, res := range r.res[target] {
		h.Merge(&res.Latency)
	}
	return &h
}

// printLatencyRatio prints num's p50 and p99 over den's, each over all rounds (a quantile
// of one round's few thousand requests is too coarse to take per round).
func (r *rounds) printLatencyRatio(w io.Writer, num, den string) {
	a, b := r.latency(num), r.latency(den)
	if a.Count() == 0 || b.Count() == 0 || b.Quantile(0.50) <= 0 || b.Quantile(0.99) <= 0 {
		return
	}
	fmt.Fprintf(w, "latency %s/%s = p50 %.2f, p99 %.2f (all rounds)\n", num, den,
		float64(a.Quantile(0.50))/float64(b.Quantile(0.50)), float64(a.Quantile(0.99))/float64(b.Quantile(0.99)))
}

// cpuPerRequest is the median over rounds of target's proxy CPU per request; 0 unknown.
func (r *rounds) cpuPerRequest(target string) time.Duration {
	var v []float64
	for _, res := range r.res[target] {
		if c := res.CPUPerRequest(); c > 0 {
			v = append(v, float64(c))
		}
	}
	return time.Duration(median(v))
}

func formatCPU(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

func (r *rounds) printRatio(w io.Writer, num, den string, goal float64) {
	if len(r.res[num]) == 0 || len(r.res[den]) == 0 {
		return
	}
	m, per := r.ratio(num, den)
	verdict := ""
	if goal > 0 {
		verdict = fmt.Sprintf("   goal >= %.2f: %s", goal, map[bool]string{true: "MET", false: "NOT MET"}[m >= goal])
	}
	fmt.Fprintf(w, "%s/%s = %.3f (per round: %s)%s\n", num, den, m, formatFloats(per), verdict)
}

func formatFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(s, " ")
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	default:
		return d
	}
}
