package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func hostOf(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestLoadCountsOnlyWhatItShould(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		maxBody     int64
		wantOK      bool   // some 200s counted
		wantFailure string // a failure kind that must appear ("" none allowed)
	}{
		{name: "200s are counted with their latency", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"ok":true}`))
		}, wantOK: true},
		{name: "a 401 is a failure, not throughput", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}, wantFailure: "status 401"},
		{name: "Connection: close is followed by a new connection", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte(`{}`))
		}, wantOK: true},
		{name: "an oversized body is a failure", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(make([]byte, 4096))
		}, maxBody: 1024, wantFailure: "body too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			host := hostOf(t, srv)
			res, err := Load(context.Background(), LoadConfig{Conns: 4, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond, MaxBody: tc.maxBody},
				Target{Name: "t", Addr: host, Request: NewRequest(host, "/x", nil)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantOK != (res.OK > 0) || tc.wantOK != (res.Throughput() > 0) {
				t.Fatalf("OK %d, throughput %.0f/s, failures %v", res.OK, res.Throughput(), res.Failures)
			}
			if tc.wantOK && (res.Latency.Count() != res.OK || res.Latency.Quantile(0.5) <= 0 || res.Sent < res.OK) {
				t.Fatalf("latency count %d for %d OK (sent %d)", res.Latency.Count(), res.OK, res.Sent)
			}
			if tc.wantFailure == "" && res.FailureCount() != 0 {
				t.Fatalf("unexpected failures %v", res.Failures)
			}
			if tc.wantFailure != "" && res.Failures[tc.wantFailure] == 0 {
				t.Fatalf("failures %v, want some %q", res.Failures, tc.wantFailure)
			}
		})
	}
}

// TestLoadHoldsExactlyConnsKeepAliveConnections: N workers are N connections, reused.
func TestLoadHoldsExactlyConnsKeepAliveConnections(t *testing.T) {
	// The load stops as soon as each of the 8 connections has carried 2 requests (the
	// proof of keep-alive), not after a fixed window a loaded machine may not fill; the
	// 30 s window only bounds a failing run.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var mu sync.Mutex
	conns := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr]++
		if kept := keptAlive(conns); kept >= 8 {
			stop()
		}
		mu.Unlock()
		if r.Header.Get("X-CSRF") != "1" || r.URL.Path != "/api/items" {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	srv.Start()
	defer srv.Close()
	host := hostOf(t, srv)
	res, err := Load(ctx, LoadConfig{Conns: 8, Duration: 30 * time.Second},
		Target{Name: "t", Addr: host, Request: NewRequest(host, "/api/items", [][2]string{{"X-CSRF", "1"}})})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if res.FailureCount() != 0 || res.OK == 0 {
		t.Fatalf("OK %d, failures %v", res.OK, res.Failures)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 8 {
		t.Fatalf("%d distinct connections, want 8", len(conns))
	}
	for addr, n := range conns {
		if n < 2 {
			t.Fatalf("connection %s carried %d request(s): not kept alive", addr, n)
		}
	}
}

// keptAlive counts the connections that carried at least 2 requests.
func keptAlive(conns map[string]int) int {
	n := 0
	for _, c := range conns {
		if c >= 2 {
			n++
		}
	}
	return n
}

func TestLoadReportsARefusedTargetAsFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	res, err := Load(context.Background(), LoadConfig{Conns: 2, Duration: 100 * time.Millisecond},
		Target{Name: "gone", Addr: addr, Request: NewRequest(addr, "/", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.Failures["dial"] == 0 {
		t.Fatalf("OK %d, failures %v; want only dial failures", res.OK, res.Failures)
	}
}

func TestLoadRefusesANonsenseConfig(t *testing.T) {
	for _, c := range []LoadConfig{{Conns: 0, Duration: time.Second}, {Conns: 1}, {Conns: 1, Duration: time.Second, Warmup: -1}} {
		if _, err := Load(context.Background(), c, Target{}); err == nil {
			t.Errorf("Load(%+v) ran", c)
		}
	}
}

// TestLoadSpreadsRequestsOverEverySession: with several requests (one per session), each
// is sent, picked at random per request, not one per connection.
func TestLoadSpreadsRequestsOverEverySession(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tg := Target{Name: "t", Addr: host}
	for _, p := range []string{"/s0", "/s1", "/s2", "/s3"} {
		tg.Requests = append(tg.Requests, NewRequest(host, p, nil))
	}
	tg.Request = tg.Requests[0]
	if _, err := Load(context.Background(), LoadConfig{Conns: 1, Duration: 200 * time.Millisecond}, tg); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Fatalf("one connection sent to %v, want all 4 sessions' requests", seen)
	}
}
