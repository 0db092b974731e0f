package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/internal/testenv"
)

// What one open session event stream costs the replica serving it (issue 13: "one
// connection per tab is cheap"), measured over real loopback connections to the real
// public listener (bff.Server.Serve: net/http, the framing guard, echo, the handler). The
// clients run in a child process (this test binary again), so every goroutine and byte
// counted here is the server's.

// eventCostStreams is how many streams are opened: 1000 connections, one fd each here
// and one in the child (Go raises the soft open-files limit to the hard one at start).
const eventCostStreams = 1000

// Bounds per stream, generous on purpose: they catch a structural regression, not noise.
const (
	// net/http gives each HTTP/1.1 connection two goroutines while its handler runs (the
	// connection's own, which runs the handler, and the background read that notices a
	// client going away); the stream adds none (handler/eventhub.go). A goroutine more
	// per stream would make 3.
	eventCostMaxGoroutines = 2.5
	// Heap and goroutine stacks together: measured at about 28 KiB (37 KiB under the race
	// detector, whose stacks are larger; docs/sessions.md). A buffer of 64 KiB kept per
	// stream, on the heap or on the stack, breaks this.
	eventCostMaxMemory = 64 << 10
)

// eventCostJob is what the parent hands the child on stdin (not in argv: the cookies
// are credentials).
type eventCostJob struct {
	Addr    string   `json:"addr"`
	Cookies []string `json:"cookies"`
	N       int      `json:"n"`
}

// TestEventStreamCost serves the BFF as the binary does (plain HTTP, behind a TLS-
// terminating ingress), opens eventCostStreams streams and reports goroutines and memory
// per stream (run with -v for the figures). It fails on more than net/http's two
// goroutines per stream, more than eventCostMaxMemory of heap and stacks per stream, or
// goroutines left behind when the clients go.
func TestEventStreamCost(t *testing.T) {
	if os.Getenv("BFF_EVENTCOST_CHILD") == "1" {
		t.Skip("the child runs TestEventStreamCostClient only")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	// One cookie per 16 streams (the per-session bound) and one user per 64 (the per-user
	// bound, handler.MaxEventStreamsPerSubject): four sessions per user.
	sessions := (eventCostStreams + 15) / 16
	e := testenv.Start(t, testenv.Options{ExtraUsers: (sessions + 3) / 4})
	job := eventCostJob{N: eventCostStreams, Addr: testenv.Serve(t, e.BFF)}
	for i := range sessions {
		c := e.NewClient(t)
		e.Login(t, c, testenv.ExtraUser(i/4), "/")
		job.Cookies = append(job.Cookies, e.SessionCookies(c))
	}

	g0, m0 := settled()
	child, stdin, out := startEventCostChild(t, job)
	if line := out(); line != fmt.Sprintf("open %d", eventCostStreams) {
		t.Fatalf("child: %q", line)
	}
	g1, m1 := settled()
	n := float64(eventCostStreams)
	gPer := float64(g1-g0) / n
	heapPer := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / n
	stackPer := float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / n
	t.Logf("%d open streams: %.2f goroutines, %.1f KiB heap, %.1f KiB goroutine stacks per stream (server side, after GC)",
		eventCostStreams, gPer, heapPer/1024, stackPer/1024)
	if gPer > eventCostMaxGoroutines {
		t.Errorf("%.2f goroutines per open stream: net/http's two per connection and no more were expected", gPer)
	}
	if heapPer+stackPer > eventCostMaxMemory {
		t.Errorf("%.0f bytes of heap and stack per open stream, over the bound of %d", heapPer+stackPer, eventCostMaxMemory)
	}

	// The clients go: every stream's goroutines must go with them.
	_ = stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > g0+20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the clients went, %d before they came", runtime.NumGoroutine(), g0)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled is the goroutine count and memory statistics after two garbage collections.
func settled() (int, runtime.MemStats) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m
}

// startEventCostChild starts this test binary as the clients' process, hands it job,
// and returns it, its stdin (closing it ends the child) and a reader of its stdout lines.
func startEventCostChild(t *testing.T, job eventCostJob) (*exec.Cmd, io.WriteCloser, func() string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestEventStreamCostClient$", "-test.v=false")
	cmd.Env = append(os.Environ(), "BFF_EVENTCOST_CHILD=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill() // a no-op once it has exited
	})
	if err := json.NewEncoder(stdin).Encode(job); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	return cmd, stdin, func() string {
		if !lines.Scan() {
			t.Fatalf("child ended: %v", lines.Err())
		}
		return lines.Text()
	}
}

// TestEventStreamCostClient is the child of TestEventStreamCost (it does nothing
// otherwise): it reads its job from stdin, opens the streams on raw connections, each
// read up to its first event, prints "open N", and holds them until stdin closes.
func TestEventStreamCostClient(t *testing.T) {
	if os.Getenv("BFF_EVENTCOST_CHILD") != "1" {
		t.Skip("run by TestEventStreamCost")
	}
	in := bufio.NewReader(os.Stdin)
	var job eventCostJob
	if err := json.NewDecoder(in).Decode(&job); err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 0, job.N)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	buf := make([]byte, 4096)
	for i := range job.N {
		c, err := openRawStream(job.Addr, job.Cookies[i/16], buf)
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	fmt.Printf("open %d\n", len(conns))
	_, _ = io.Copy(io.Discard, in) // until the parent closes stdin
}

// openRawStream sends GET /bff/session/events on a new connection as a same-origin
// EventSource would and reads until the first event has come; the rest stays unread.
func openRawStream(addr, cookie string, buf []byte) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET /bff/session/events HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\n" +
		"Sec-Fetch-Site: same-origin\r\nCookie: " + cookie + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	var got strings.Builder
	for !strings.Contains(got.String(), "event: session\n") {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		s := got.String()
		if err == nil && strings.Contains(s, "\r\n\r\n") && !strings.HasPrefix(s, "HTTP/1.1 200 ") {
			err = fmt.Errorf("answer %q", strings.SplitN(s, "\r\n", 2)[0])
		}
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
