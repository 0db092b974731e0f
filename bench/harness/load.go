package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// The load generator: Conns workers, each on its own keep-alive TCP connection, sending a
// pre-serialized HTTP/1.1 request and reading the response, back to back, for Warmup +
// Duration. Only responses completed inside the measured window (after Warmup) count and
// have their latency recorded. It is deliberately lean (no http.Client, no pool, no
// per-request goroutines): on a 2-core machine the generator's CPU is taken from the
// proxies it measures, and the less it takes the more the ratios say about the proxies.

// Target is one endpoint to load.
type Target struct {
	Name string
	// Addr is host:port to dial.
	Addr string
	// Request is sent as is for every request: a complete HTTP/1.1 request without a
	// body, keep-alive (see NewRequest).
	Request []byte
	// Requests, when it holds more than one, replaces Request: each request is one of
	// them picked at random (many sessions: one request per session cookie).
	Requests [][]byte
}

// pick is the next request to send.
func (t *Target) pick(rng *rand.Rand) []byte {
	if len(t.Requests) > 1 {
		return t.Requests[rng.IntN(len(t.Requests))]
	}
	return t.Request
}

// NewRequest serializes a GET of path on host with the given extra headers.
func NewRequest(host, path string, headers [][2]string) []byte {
	b := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tokenward-bench\r\n", path, host)
	for _, h := range headers {
		b = fmt.Appendf(b, "%s: %s\r\n", h[0], h[1])
	}
	return append(b, "\r\n"...)
}

// LoadConfig says how hard and how long.
type LoadConfig struct {
	Conns    int
	Warmup   time.Duration
	Duration time.Duration
	// Timeout bounds each request (write, headers and body). Default 10s.
	Timeout time.Duration
	// MaxBody bounds each response body; a longer one is an error. Default 1 MiB.
	MaxBody int64
}

func (c LoadConfig) withDefaults() (LoadConfig, error) {
	if c.Conns < 1 || c.Duration <= 0 || c.Warmup < 0 {
		return c, fmt.Errorf("load: need conns >= 1, duration > 0, warmup >= 0 (got %d, %v, %v)", c.Conns, c.Duration, c.Warmup)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 1 << 20
	}
	return c, nil
}

// Result is one run against one target.
type Result struct {
	Target string
	// OK counts 200 responses completed in the measured window; Sent counts every
	// response, warm-up included (for per-request ratios of server-side counters).
	OK, Sent uint64
	// Failures counts non-200 responses and transport errors in the measured window,
	// by kind ("status 401", "read: ...").
	Failures map[string]uint64
	Window   time.Duration
	Latency  Histogram
	// ProxyCPU is the CPU the proxy under test used during the warm-up and the window
	// (0 when unknown: the direct target).
	ProxyCPU time.Duration
}

// CPUPerRequest is ProxyCPU per request sent (warm-up included, as ProxyCPU is).
func (r *Result) CPUPerRequest() time.Duration {
	if r.Sent == 0 {
		return 0
	}
	return r.ProxyCPU / time.Duration(r.Sent)
}

// Throughput is OK responses per second of the measured window.
func (r *Result) Throughput() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.OK) / r.Window.Seconds()
}

// FailureCount is the number of failed requests in the window.
func (r *Result) FailureCount() uint64 {
	var n uint64
	for _, c := range r.Failures {
		n += c
	}
	return n
}

// Load runs cfg against t and returns the merged result. It returns early, with what it
// measured, when ctx ends.
func Load(ctx context.Context, cfg LoadConfig, t Target) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	w := window{from: start.Add(cfg.Warmup), to: start.Add(cfg.Warmup + cfg.Duration)}
	results := make([]*Result, cfg.Conns)
	var wg sync.WaitGroup
	for i := range results {
		results[i] = &Result{Failures: map[string]uint64{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&worker{cfg: cfg, target: t, res: results[i], win: w}).run(ctx)
		}()
	}
	wg.Wait()
	out := &Result{Target: t.Name, Failures: map[string]uint64{}, Window: cfg.Duration}
	for _, r := range results {
		out.OK += r.OK
		out.Sent += r.Sent
		for k, v := range r.Failures {
			out.Failures[k] += v
		}
		out.Latency.Merge(&r.Latency)
	}
	if ctx.Err() != nil {
		return out, fmt.Errorf("load %s: %w", t.Name, ctx.Err())
	}
	return out, nil
}

// window is the measured interval.
type window struct{ from, to time.Time }

func (w window) has(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// worker owns one connection (re-dialled after an error or a Connection: close).
type worker struct {
	cfg    LoadConfig
	target Target
	res    *Result
	win    window
	conn   net.Conn
	br     *bufio.Reader
	rng    *rand.Rand
}

func (wk *worker) run(ctx context.Context) {
	defer wk.close()
	wk.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for ctx.Err() == nil && time.Now().Before(wk.win.to) {
		began := time.Now()
		status, err := wk.roundTrip()
		done := time.Now()
		wk.res.Sent++
		if !wk.win.has(done) {
			continue
		}
		switch {
		case err != nil:
			wk.res.Failures[failureKind(err)]++
			time.Sleep(time.Millisecond) // no hot loop on a refused connection
		case status != http.StatusOK:
			wk.res.Failures[fmt.Sprintf("status %d", status)]++
		default:
			wk.res.OK++
			wk.res.Latency.Record(done.Sub(began))
		}
	}
}

// roundTrip sends the request and reads the whole response; it returns the status.
func (wk *worker) roundTrip() (int, error) {
	if wk.conn == nil {
		if err := wk.dial(); err != nil {
			return 0, err
		}
	}
	if err := wk.conn.SetDeadline(time.Now().Add(wk.cfg.Timeout)); err != nil {
		wk.close()
		return 0, fmt.Errorf("deadline: %w", err)
	}
	if _, err := wk.conn.Write(wk.target.pick(wk.rng)); err != nil {
		wk.close()
		return 0, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(wk.br, nil)
	if err != nil {
		wk.close()
		return 0, fmt.Errorf("read: %w", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, wk.cfg.MaxBody+1))
	resp.Body.Close()
	switch {
	case err != nil:
		wk.close()
		return 0, fmt.Errorf("body: %w", err)
	case n > wk.cfg.MaxBody:
		wk.close()
		return 0, errBodyTooLarge
	}
	if resp.Close {
		wk.close()
	}
	return resp.StatusCode, nil
}

var errBodyTooLarge = errors.New("body: larger than MaxBody")

func (wk *worker) dial() error {
	c, err := net.DialTimeout("tcp", wk.target.Addr, wk.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	wk.conn, wk.br = c, bufio.NewReaderSize(c, 16<<10)
	return nil
}

func (wk *worker) close() {
	if wk.conn != nil {
		_ = wk.conn.Close()
		wk.conn, wk.br = nil, nil
	}
}

// failureKind is a bounded label for an error: its first wrapping prefix.
func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errBodyTooLarge):
		return "body too large"
	}
	msg := err.Error()
	for i := range len(msg) {
		if msg[i] == ':' {
			return msg[:i]
		}
	}
	return "error"
}
