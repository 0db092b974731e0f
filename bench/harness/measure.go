package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

const requestPath = "/items/42?expand=owner"

// pause between windows, so one target's connection teardown does not overlap the next.
const pause = 200 * time.Millisecond

// headers are sent to every target alike; only the session cookie differs per BFF.
func headers(cookie string) [][2]string {
	return [][2]string{{"Accept", "application/json"}, {"X-CSRF", "1"}, {"Cookie", sessionCookie + "=" + cookie}}
}

// targetCookies are the session cookies sent to target (the primary BFF's for the
// non-BFF targets: the same header bytes).
func (b *bench) targetCookies(target string) []string {
	for _, bi := range b.bffs {
		if bi.name == target {
			return bi.cookies
		}
	}
	return b.bffs[0].cookies
}

func (b *bench) buildTargets() []Target {
	up, _ := url.Parse(b.o.upstream)
	addrs := map[string]string{targetDirect: up.Host, targetPlain: b.plainAddr}
	for _, bi := range b.bffs {
		addrs[bi.name] = bi.addr
	}
	var out []Target
	for name := range strings.SplitSeq(b.o.targets+b.altTarget(), ",") {
		name = strings.TrimSpace(name)
		if addr, ok := addrs[name]; ok {
			t := Target{Name: name, Addr: addr}
			for _, c := range b.targetCookies(name) {
				t.Requests = append(t.Requests, NewRequest(addr, targetPath(name), headers(c)))
			}
			t.Request = t.Requests[0]
			out = append(out, t)
		}
	}
	return out
}

// altTarget adds bff-alt after the -targets list when there is an alternative.
func (b *bench) altTarget() string {
	if b.o.altBin == "" || strings.Contains(b.o.targets, targetAlt) {
		return ""
	}
	return "," + targetAlt
}

func targetPath(target string) string {
	if target == targetDirect {
		return requestPath
	}
	return "/api" + requestPath
}

// targetURL is the URL of t's request.
func targetURL(t Target) string { return "http://" + t.Addr + targetPath(t.Name) }

// sanity checks that every target answers 200 with the same body (the upstream's).
func (b *bench) sanity(ctx context.Context) error {
	if len(b.targets) == 0 {
		return fmt.Errorf("no target in -targets %q", b.o.targets)
	}
	var want []byte
	for _, t := range b.targets {
		body, err := fetch(ctx, targetURL(t), headers(b.targetCookies(t.Name)[0]))
		if err != nil {
			return fmt.Errorf("sanity: %s: %w", t.Name, err)
		}
		if want == nil {
			want = body
		} else if !bytes.Equal(body, want) {
			return fmt.Errorf("sanity: %s answered another body (%d bytes, want %d)", t.Name, len(body), len(want))
		}
	}
	fmt.Fprintf(b.out, "targets answer the same %d-byte body\n\n", len(want))
	return nil
}

// measure runs the interleaved rounds.
func (b *bench) measure(ctx context.Context) (*rounds, error) {
	cfg := LoadConfig{Conns: b.o.conns, Warmup: b.o.warmup, Duration: b.o.duration}
	var order []string
	for _, t := range b.targets {
		order = append(order, t.Name)
	}
	r := newRounds(order)
	b.storeCalls, b.bffSent = map[string]map[string]uint64{}, map[string]uint64{}
	for round := 1; round <= b.o.rounds; round++ {
		for _, t := range roundOrder(b.targets, round, b.o.rotate) {
			res, err := b.loadOne(ctx, cfg, t)
			if err != nil {
				return nil, err
			}
			printRound(b.out, round, res)
			r.add(res)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	return r, nil
}

// roundOrder is the targets' order in round (1-based): as given, or with rotate, shifted
// by one more place each round (A,B,C then B,C,A then C,A,B), so that no target always
// runs right after the same one (position effects: the previous target's connections
// closing, its garbage being collected).
func roundOrder(targets []Target, round int, rotate bool) []Target {
	if !rotate || len(targets) == 0 {
		return targets
	}
	k := (round - 1) % len(targets)
	return append(slices.Clone(targets[k:]), targets[:k]...)
}

// procOf is the subprocess serving target, nil for the upstream (not the harness's).
func (b *bench) procOf(target string) *proc {
	if target == targetPlain {
		return b.plainProc
	}
	for _, bi := range b.bffs {
		if bi.name == target {
			return bi.proc
		}
	}
	return nil
}

func isBFF(target string) bool { return target == targetBFF || target == targetAlt }

// loadOne loads t, reading the proxy's CPU time and, for a BFF, Redis's counters around it.
func (b *bench) loadOne(ctx context.Context, cfg LoadConfig, t Target) (*Result, error) {
	var before map[string]uint64
	if isBFF(t.Name) {
		before, _ = commandCalls(ctx, b.rdb)
	}
	p := b.procOf(t.Name)
	var cpu0 time.Duration
	cpuErr := errors.New("no proxy process")
	if p != nil {
		cpu0, cpuErr = p.cpuTime()
	}
	res, err := Load(ctx, cfg, t)
	if err != nil {
		return nil, err
	}
	if cpuErr == nil {
		if cpu1, err := p.cpuTime(); err == nil {
			res.ProxyCPU = cpu1 - cpu0
		}
	}
	if before != nil {
		if after, err := commandCalls(ctx, b.rdb); err == nil {
			if b.storeCalls[t.Name] == nil {
				b.storeCalls[t.Name] = map[string]uint64{}
			}
			for k, v := range callsDelta(before, after) {
				b.storeCalls[t.Name][k] += v
			}
			b.bffSent[t.Name] += res.Sent
		}
	}
	return res, nil
}

// printStoreCommands prints Redis calls per BFF request, from the server-wide counters:
// other clients of the same server add to them (the Go test has the exact count).
func (b *bench) printStoreCommands() {
	for _, bi := range b.bffs {
		sent := b.bffSent[bi.name]
		if sent == 0 {
			continue
		}
		calls := b.storeCalls[bi.name]
		names := make([]string, 0, len(calls))
		for k := range calls {
			names = append(names, k)
		}
		slices.Sort(names)
		var parts []string
		for _, k := range names {
			if per := float64(calls[k]) / float64(sent); per >= 0.001 {
				parts = append(parts, fmt.Sprintf("%s %.3f", k, per))
			}
		}
		fmt.Fprintf(b.out, "Redis calls per %s request (server-wide INFO commandstats; scripts' inner calls included): %s\n",
			bi.name, strings.Join(parts, ", "))
	}
}

func (b *bench) crossCheckWithWrk(ctx context.Context) {
	fmt.Fprintf(b.out, "\nwrk cross-check (1 thread, %d connections, %v each, one interleaved round):\n", b.o.conns, b.o.duration)
	rps := map[string]float64{}
	for _, t := range b.targets {
		script, err := writeWrkScript(b.dir, t.Name, headers(b.targetCookies(t.Name)[0]))
		if err != nil {
			fmt.Fprintln(b.out, "  wrk:", err)
			return
		}
		r, err := runWrk(ctx, LoadConfig{Conns: b.o.conns, Duration: b.o.duration}, t.Name, targetURL(t), script)
		if err != nil {
			fmt.Fprintln(b.out, "  ", err)
			return
		}
		rps[t.Name] = r.rps
		fmt.Fprintf(b.out, "  %-7s %9.0f req/s  p50 %-8s p99 %-8s non-2xx %d\n", r.target, r.rps, r.p50, r.p99, r.non2xx)
	}
	for _, pair := range [][2]string{{targetBFF, targetPlain}, {targetPlain, targetDirect}, {targetAlt, targetBFF}} {
		if rps[pair[0]] > 0 && rps[pair[1]] > 0 {
			fmt.Fprintf(b.out, "  wrk %s/%s = %.3f\n", pair[0], pair[1], rps[pair[0]]/rps[pair[1]])
		}
	}
}

// checkNoRefresh fails the run if the OP saw a refresh: the run would not have measured
// the path it claims to.
func (b *bench) checkNoRefresh() error {
	n := b.op.op.Stats().RefreshGrants
	fmt.Fprintf(b.out, "OP refresh grants during the run: %d\n", n)
	if n != 0 {
		return fmt.Errorf("the OP saw %d refresh grant(s): raise -token-lifetime", n)
	}
	return nil
}
