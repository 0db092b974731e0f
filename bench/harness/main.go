// Command harness measures the BFF's hot path end to end: an authenticated proxied GET
// through the real bff binary with its sessions in a real Redis, beside a plain
// httputil.ReverseProxy and the upstream itself, under the same load. bench/run builds
// everything and starts the upstream; see docs/performance.md for how to read the output.
//
// The flow:
//
//  1. Remember the BFF keys already in the bench Redis database (-redis, DB 14), so that
//     only the run's own keys are deleted at the end.
//  2. Start the demo OpenID provider in this process (access tokens live -token-lifetime,
//     1 h: no refresh may happen during the run; the OP's refresh count is checked at the
//     end), write a BFF config (store redis, route /api/ → -upstream, a fresh session
//     key), start -bff as a subprocess and wait for /readyz; start -plainproxy.
//     -proxy-cpus pins both proxies with taskset (run the harness itself pinned elsewhere).
//  3. Log -sessions users in as browsers would (/bff/login → OP form → callback, 8 at a
//     time, a failed login tried again) and keep their cookies; report the login phase
//     (logins/s, logins per CPU-second of the BFF, the harness's and the machine's CPU:
//     loginphase.go) and the Redis bytes per session against a reference token set the
//     harness gets from the same OP by its own code flow (sessionbytes.go, tokenref.go).
//  4. Check that the three targets answer the same body (direct GET /items/42, plain and
//     bff GET /api/items/42, every request with the same Cookie, X-CSRF and Accept).
//  5. Run -rounds interleaved rounds (direct, plain, bff, then plain, bff, direct, ...: the
//     order rotates each round unless -rotate=false), each a -warmup then a -duration
//     window of -conns keep-alive connections (load.go); read the proxies' CPU time and
//     Redis's command counters around every window.
//  6. Print req/s, p50 and p99 per target and the medians of the per-round ratios bff/plain
//     (the goal: >= 0.85 at 64 connections) and plain/direct; Redis commands per
//     bff request; optionally the same with wrk (-wrk).
//  7. Stop the subprocesses (SIGTERM: bffprof writes its profiles), delete the run's keys.
//
// -bff-alt adds a second BFF (another build, or the same one with -alt-log-level,
// -alt-cache-ttl or -alt-redis-pool) as target bff-alt in the same rounds: an A/B of a
// change under the same noise, with the ratio bff-alt/bff.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the command line.
type options struct {
	bffBin, plainBin, upstream, redisURL string
	altBin, altLogLevel                  string
	cacheTTL, altCacheTTL                string
	conns, rounds, redisPool, sessions   int
	altRedisPool                         int
	duration, warmup, tokenLifetime      time.Duration
	proxyCPUs, logLevel, profileDir      string
	targets                              string
	wrk, keep, rotate                    bool
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.bffBin, "bff", "", "the bff binary (or bffprof with -profile) (required)")
	flag.StringVar(&o.plainBin, "plainproxy", "", "the plainproxy binary (required)")
	flag.StringVar(&o.upstream, "upstream", "", "the upstream's base URL, e.g. http://127.0.0.1:9000 (required)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/14", "the bench Redis database")
	flag.IntVar(&o.redisPool, "redis-pool", 0, "if > 0, the BFF's Redis pool size (?pool_size=); 0 keeps go-redis's default (10 per CPU)")
	flag.IntVar(&o.conns, "conns", 64, "keep-alive connections")
	flag.IntVar(&o.sessions, "sessions", 1, "logged-in sessions per BFF; each request uses one picked at random (many users, not one)")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured window per target and round")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each window")
	flag.DurationVar(&o.tokenLifetime, "token-lifetime", time.Hour, "access token lifetime at the OP (keep it longer than the run)")
	flag.StringVar(&o.proxyCPUs, "proxy-cpus", "", "taskset CPU list for bff and plainproxy (e.g. 0); empty: no pinning")
	flag.StringVar(&o.logLevel, "log-level", "info", "the BFF's log level (info writes one access log line per request)")
	flag.StringVar(&o.cacheTTL, "cache-ttl", "", "the BFF's session.cacheTTL, e.g. 0s (no cache) or 1s; empty: its default")
	flag.StringVar(&o.profileDir, "profile", "", "directory for bffprof's cpu.pprof and allocs.pprof (-bff must be bffprof)")
	flag.StringVar(&o.targets, "targets", "direct,plain,bff", "targets, in round order")
	flag.StringVar(&o.altBin, "bff-alt", "", "a second BFF binary measured in the same rounds as target bff-alt (A/B of a change); \"same\" for -bff's, to A/B -alt-log-level, -alt-cache-ttl or -alt-redis-pool")
	flag.StringVar(&o.altLogLevel, "alt-log-level", "", "bff-alt's log level (default: -log-level)")
	flag.IntVar(&o.altRedisPool, "alt-redis-pool", 0, "bff-alt's Redis pool size (0: -redis-pool)")
	flag.StringVar(&o.altCacheTTL, "alt-cache-ttl", "", "bff-alt's session.cacheTTL (empty: -cache-ttl)")
	flag.BoolVar(&o.wrk, "wrk", false, "also cross-check with wrk (if installed)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (config, logs)")
	flag.BoolVar(&o.rotate, "rotate", true, "rotate the targets' order every round (A,B,C then B,C,A ...)")
	flag.Parse()
	if o.altBin == "same" {
		o.altBin = o.bffBin
	}
	if o.altLogLevel == "" {
		o.altLogLevel = o.logLevel
	}
	if o.altRedisPool == 0 {
		o.altRedisPool = o.redisPool
	}
	if o.altCacheTTL == "" {
		o.altCacheTTL = o.cacheTTL
	}
	return o
}

func (o options) validate() error {
	var missing []string
	for name, v := range map[string]string{"-bff": o.bffBin, "-plainproxy": o.plainBin, "-upstream": o.upstream} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if o.rounds < 1 || o.conns < 1 || o.sessions < 1 || o.duration <= 0 {
		return fmt.Errorf("-rounds, -conns, -sessions and -duration must be positive")
	}
	// A generous bound of the run's length (3 targets, wrk doubling it) plus the refresh skew.
	if run := time.Duration(o.rounds*3*2)*(o.duration+o.warmup) + 2*time.Minute; o.tokenLifetime < run {
		return fmt.Errorf("-token-lifetime %v is too short for the run: a refresh would happen", o.tokenLifetime)
	}
	return nil
}

func main() {
	o := parseFlags()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) (err error) {
	b := &bench{o: o, out: out}
	defer func() { b.teardown(context.WithoutCancel(ctx), err != nil) }()
	printConditions(out, o)
	if err := b.setup(ctx); err != nil {
		return err
	}
	b.reportLogins(ctx)
	if err := b.sanity(ctx); err != nil {
		return err
	}
	r, err := b.measure(ctx)
	if err != nil {
		return err
	}
	r.print(out)
	b.printStoreCommands()
	if o.wrk {
		b.crossCheckWithWrk(ctx)
	}
	return b.checkNoRefresh()
}

func printConditions(w io.Writer, o options) {
	fmt.Fprintf(w, "tokenward bench  %s  %s  %d CPUs (harness GOMAXPROCS %d)\n", time.Now().UTC().Format(time.RFC3339),
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	pin := "none: everything shares every CPU"
	if o.proxyCPUs != "" {
		pin = "proxies on CPU " + o.proxyCPUs + "; the load generator, upstream and OP where bench/run put them"
	}
	fmt.Fprintf(w, "conns %d  warmup %v  window %v  rounds %d  bff log level %s  pinning: %s\n",
		o.conns, o.warmup, o.duration, o.rounds, o.logLevel, pin)
	switch {
	case o.proxyCPUs != "":
		fmt.Fprintf(w, "note: this harness (the load generator) runs on %d CPU(s) of its own; Redis floats: "+
			"compare the ratios, not the absolute numbers.\n", runtime.NumCPU())
	case runtime.NumCPU() <= 4:
		fmt.Fprintf(w, "note: %d CPUs shared by the load generator, the upstream, Redis and the proxy under test: "+
			"compare the ratios, not the absolute numbers.\n", runtime.NumCPU())
	}
}
