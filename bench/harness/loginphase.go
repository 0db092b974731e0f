package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The login phase measured (issue 15: "login throughput through the demo provider
// reported, logins/s per core"): the wall time of logging -sessions users in, as browsers
// do, and the CPU used meanwhile by the BFF (from /proc/PID/stat), by this process (the
// in-process OP and the headless browsers) and by the whole machine (/proc/stat). "Per
// core" is logins per CPU-second of the BFF: what one core of a replica sustains, the OP's
// cost left out.

// loginParallel is how many logins run at once (browsers signing in together).
const loginParallel = 8

// referenceFlows is how many token sets the harness gets for the reference size.
const referenceFlows = 3

// machineCPU is the machine's CPU time so far, all CPUs summed: busy (not idle, not
// waiting for I/O) and total.
type machineCPU struct{ busy, total time.Duration }

// parseMachineCPU reads the first line of /proc/stat, "cpu  user nice system idle iowait
// irq softirq steal guest guest_nice" in USER_HZ ticks. guest and guest_nice are already
// inside user and nice, so only the first eight count.
func parseMachineCPU(stat string) (machineCPU, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return machineCPU{}, errors.New("proc stat: no aggregate cpu line")
	}
	var ticks [8]int64
	for i := range ticks {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("proc stat: %w", err)
		}
		ticks[i] = n
	}
	var total int64
	for _, n := range ticks {
		total += n
	}
	busy := total - ticks[3] - ticks[4] // idle, iowait
	return machineCPU{busy: ticksToDuration(busy), total: ticksToDuration(total)}, nil
}

func ticksToDuration(ticks int64) time.Duration { return time.Duration(ticks) * time.Second / userHZ }

func readMachineCPU() (machineCPU, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, fmt.Errorf("machine cpu: %w", err)
	}
	return parseMachineCPU(string(data))
}

func selfCPU() (time.Duration, error) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, fmt.Errorf("harness cpu: %w", err)
	}
	return parseProcStatCPU(string(data))
}

// cpuSnapshot is the CPU used so far by the BFF, this process and the machine; err is
// set when any of them could not be read (then the phase reports no CPU figures).
type cpuSnapshot struct {
	bff, self time.Duration
	machine   machineCPU
	err       error
}

func takeCPUSnapshot(p *proc) cpuSnapshot {
	var s cpuSnapshot
	var errBFF, errSelf, errMachine error
	s.bff, errBFF = p.cpuTime()
	s.self, errSelf = selfCPU()
	s.machine, errMachine = readMachineCPU()
	s.err = errors.Join(errBFF, errSelf, errMachine)
	return s
}

// loginPhase is one BFF's login phase.
type loginPhase struct {
	target   string
	sessions int
	retried  int // failed attempts tried again (their cost is in the figures)
	wall     time.Duration
	cpus     int
	// The CPU used during the phase; cpuKnown is false when /proc could not be read.
	cpuKnown                  bool
	bffCPU, selfCPU           time.Duration
	machineBusy, machineTotal time.Duration // machineTotal: about wall × CPUs, as the kernel counted it
}

func newLoginPhase(target string, sessions, cpus int, wall time.Duration, before, after cpuSnapshot) loginPhase {
	p := loginPhase{target: target, sessions: sessions, wall: wall, cpus: cpus}
	if before.err == nil && after.err == nil {
		p.cpuKnown = true
		p.bffCPU, p.selfCPU = after.bff-before.bff, after.self-before.self
		p.machineBusy, p.machineTotal = after.machine.busy-before.machine.busy, after.machine.total-before.machine.total
	}
	return p
}

// perSecond is n per d in seconds; 0 when d is not positive.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (p loginPhase) print(w io.Writer) {
	retried := ""
	if p.retried > 0 {
		retried = fmt.Sprintf(" (%d failed attempts retried)", p.retried)
	}
	fmt.Fprintf(w, "login phase %s: %d sessions in %.1fs (%d at a time) = %.1f logins/s%s\n",
		p.target, p.sessions, p.wall.Seconds(), loginParallel, perSecond(p.sessions, p.wall), retried)
	if !p.cpuKnown {
		fmt.Fprintln(w, "  CPU: not available (/proc)")
		return
	}
	fmt.Fprintf(w, "  %s CPU %.2fs = %.1f logins per %s CPU-second (per core); harness (OP + browsers) CPU %.2fs\n",
		p.target, p.bffCPU.Seconds(), perSecond(p.sessions, p.bffCPU), p.target, p.selfCPU.Seconds())
	fmt.Fprintf(w, "  machine (%d CPUs, everything on it): busy %.1fs of %.1fs = %.1f logins per busy CPU-second, %.1f logins/s per CPU\n",
		p.cpus, p.machineBusy.Seconds(), p.machineTotal.Seconds(), perSecond(p.sessions, p.machineBusy),
		perSecond(p.sessions, p.wall)/float64(max(p.cpus, 1)))
}

// loginAll logs b.o.sessions users in at bi, measuring the phase.
func (b *bench) loginAll(ctx context.Context, bi *bffInstance) error {
	before := takeCPUSnapshot(bi.proc)
	start := time.Now()
	bffURL := "http://" + bi.addr
	cookies, retried, err := loginMany(ctx, b.o.sessions, func(ctx context.Context) (string, error) { return login(ctx, bffURL) })
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %w", bi.name, err)
	}
	after := takeCPUSnapshot(bi.proc)
	bi.cookies, bi.cookie = cookies, cookies[0]
	p := newLoginPhase(bi.name, len(cookies), runtime.NumCPU(), wall, before, after)
	p.retried = retried
	b.logins = append(b.logins, p)
	return nil
}

// reportLogins prints each BFF's login phase and what the sessions take in Redis. A
// failure to measure the bytes is printed, not fatal: the run's main figures still count.
func (b *bench) reportLogins(ctx context.Context) {
	for _, p := range b.logins {
		p.print(b.out)
	}
	sessions := 0
	for _, bi := range b.bffs {
		sessions += len(bi.cookies)
	}
	sb, err := measureSessionBytes(ctx, b.rdb, b.keysBefore, sessions, true)
	if err != nil {
		fmt.Fprintln(b.out, "Redis bytes per session: not measured:", err)
		return
	}
	callback := "http://" + b.bffs[0].addr + "/bff/callback"
	if sb.tokens, err = referenceTokens(ctx, b.op.issuer, b.clientSecret, callback, referenceFlows); err != nil {
		fmt.Fprintln(b.out, "reference tokens:", err)
	}
	sb.print(b.out)
	fmt.Fprintln(b.out)
}
