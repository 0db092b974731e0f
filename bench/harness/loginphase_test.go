package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseMachineCPU(t *testing.T) {
	tests := []struct {
		name      string
		stat      string
		wantBusy  time.Duration
		wantTotal time.Duration
		wantErr   bool
	}{
		{
			// user nice system idle iowait irq softirq steal guest guest_nice: guest is
			// inside user already, idle and iowait are not busy.
			name:     "idle and iowait are not busy, guest not counted twice",
			stat:     "cpu  100 20 30 500 50 5 5 10 70 7\ncpu0 50 10 15 250 25 2 3 5 35 3\nintr 1\n",
			wantBusy: 1700 * time.Millisecond, wantTotal: 7200 * time.Millisecond,
		},
		{name: "a cpuN line is not the aggregate", stat: "cpu0 1 2 3 4 5 6 7 8 9 10\n", wantErr: true},
		{name: "truncated", stat: "cpu  1 2 3\n", wantErr: true},
		{name: "garbage", stat: "cpu  a b c d e f g h\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMachineCPU(tc.stat)
			if (err != nil) != tc.wantErr || got.busy != tc.wantBusy || got.total != tc.wantTotal {
				t.Fatalf("got %+v, %v; want busy %v total %v (error %v)", got, err, tc.wantBusy, tc.wantTotal, tc.wantErr)
			}
		})
	}
}

func TestReadMachineCPUHere(t *testing.T) {
	m, err := readMachineCPU()
	if err != nil {
		t.Skip("no /proc/stat:", err)
	}
	if m.total <= 0 || m.busy <= 0 || m.busy > m.total {
		t.Fatalf("machine cpu %+v", m)
	}
}

// TestLoginPhaseReport: logins/s is over the wall time, "per core" over the BFF's own CPU
// time, the machine figure over the machine's busy CPU time; without /proc only the rate.
func TestLoginPhaseReport(t *testing.T) {
	before := cpuSnapshot{bff: time.Second, self: 2 * time.Second, machine: machineCPU{busy: 10 * time.Second, total: 30 * time.Second}}
	after := cpuSnapshot{bff: 6 * time.Second, self: 10 * time.Second, machine: machineCPU{busy: 50 * time.Second, total: 70 * time.Second}}
	tests := []struct {
		name          string
		before, after cpuSnapshot
		want          []string
		wantNot       []string
	}{
		{
			name: "all known", before: before, after: after,
			want: []string{
				"login phase bff: 2000 sessions in 20.0s (8 at a time) = 100.0 logins/s\n",
				"bff CPU 5.00s = 400.0 logins per bff CPU-second (per core); harness (OP + browsers) CPU 8.00s\n",
				"machine (2 CPUs, everything on it): busy 40.0s of 40.0s = 50.0 logins per busy CPU-second, 50.0 logins/s per CPU\n",
			},
		},
		{
			name: "no /proc", before: cpuSnapshot{err: errTest}, after: after,
			want:    []string{"= 100.0 logins/s\n", "CPU: not available"},
			wantNot: []string{"per core"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			newLoginPhase("bff", 2000, 2, 20*time.Second, tc.before, tc.after).print(&out)
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("missing %q in:\n%s", w, out.String())
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("unexpected %q in:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestLoginManyRetriesAFailedLogin: a login that fails is tried again (a browser signs in
// again after a 503) and counted; one that fails every attempt fails the phase.
func TestLoginManyRetriesAFailedLogin(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	flaky := func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls%4 == 1 { // the 1st, 5th, 9th ... call fails
			return "", errTest
		}
		return fmt.Sprintf("cookie-%d", calls), nil
	}
	cookies, retried, err := loginMany(context.Background(), 10, flaky)
	if err != nil || len(cookies) != 10 || retried == 0 || calls != 10+retried {
		t.Fatalf("cookies %v, retried %d, calls %d, err %v", cookies, retried, calls, err)
	}
	for _, c := range cookies {
		if c == "" {
			t.Fatalf("a session without a cookie: %v", cookies)
		}
	}
	broken := func(context.Context) (string, error) { return "", errTest }
	if _, retried, err := loginMany(context.Background(), 2, broken); !errors.Is(err, errTest) || retried != 2*(loginAttempts-1) {
		t.Fatalf("always failing: retried %d, err %v", retried, err)
	}
	var out bytes.Buffer
	p := newLoginPhase("bff", 10, 2, time.Second, cpuSnapshot{}, cpuSnapshot{})
	p.retried = 3
	p.print(&out)
	if !strings.Contains(out.String(), "= 10.0 logins/s (3 failed attempts retried)\n") {
		t.Fatalf("report:\n%s", out.String())
	}
}
