package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log a subprocess's two output copiers may write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func TestStartListeningProcReadsTheAddressLine(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		wantAddr string
		wantErr  bool
	}{
		{name: "address on the first line", script: `echo "listening on http://127.0.0.1:4321"; echo more; exec sleep 30`, wantAddr: "127.0.0.1:4321"},
		{name: "no address", script: `echo "hello"; exec sleep 30`, wantErr: true},
		{name: "silent until the timeout", script: `exec sleep 30`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, addr, err := startListeningProc(procSpec{name: "sh", bin: "/bin/sh", args: []string{"-c", tc.script}, log: &syncBuffer{}}, time.Second)
			if tc.wantErr {
				if err == nil {
					p.stop()
					t.Fatalf("got %q, want an error", addr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			p.stop()
			if addr != tc.wantAddr || time.Since(start) > 5*time.Second {
				t.Fatalf("addr %q, stopped in %v", addr, time.Since(start))
			}
			if err := p.exited(); err == nil {
				t.Fatal("exited() is nil after stop")
			}
		})
	}
}

func TestWaitHTTPStopsWhenTheProcessDies(t *testing.T) {
	p, err := startProc(procSpec{name: "crash", bin: "/bin/sh", args: []string{"-c", "exit 3"}, log: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = waitHTTP(context.Background(), "http://127.0.0.1:1/readyz", 10*time.Second, p)
	if err == nil || !strings.Contains(err.Error(), "crash") || time.Since(start) > 5*time.Second {
		t.Fatalf("waitHTTP = %v after %v; want the crash, early", err, time.Since(start))
	}
}

func TestCPUTimeOfALiveProcess(t *testing.T) {
	p, err := startProc(procSpec{name: "spin", bin: "/bin/sh", args: []string{"-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 30"}, log: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := p.cpuTime()
		if err != nil {
			t.Fatal(err)
		}
		if d > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(errors.New("no CPU time seen for a busy process"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
