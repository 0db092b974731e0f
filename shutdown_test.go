package bff_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// TestGracefulShutdown: on SIGTERM (the context ending) readiness turns false at once,
// the listener stops accepting, and every in-flight request still completes.
func TestGracefulShutdown(t *testing.T) {
	arrived := make(chan struct{}, 8)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(700 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	}))
	defer slow.Close()
	e := testenv.Start(t, testenv.Options{})
	cfg := e.Config
	cfg.Routes = append([]config.Route{config.Route{Path: "/slow/", Upstream: slow.URL, Auth: "none"}.WithDefaults()}, cfg.Routes...)
	cfg.Server.ShutdownTimeout = 5 * time.Second
	base, admin, sigterm, served := serveReady(t, cfg)

	var wg sync.WaitGroup
	results := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, base+"/slow/x", nil)
			req.Header.Set("X-CSRF", "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "done" {
				results <- &statusError{resp.StatusCode}
			}
		}()
	}
	for range 8 { // every request is in flight: it reached the upstream
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the requests never reached the upstream")
		}
	}
	sigterm()
	waitStatus(t, admin+"/readyz", http.StatusServiceUnavailable)
	wg.Wait()
	close(results)
	for err := range results {
		t.Errorf("an in-flight request failed: %v", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("the listener still accepts after shutdown")
	}
}

// serveReady runs a BFF of cfg with Serve on loopback listeners until sigterm, and waits
// for it to be ready; served receives Serve's result.
func serveReady(t *testing.T, cfg config.Config) (base, admin string, sigterm func(), served <-chan error) {
	t.Helper()
	srv, err := bff.New(context.Background(), cfg, bff.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := net.Listen("tcp", "127.0.0.1:0")
	adm, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, pub, adm) }()
	base, admin = "http://"+pub.Addr().String(), "http://"+adm.Addr().String()
	waitStatus(t, admin+"/readyz", http.StatusOK)
	return base, admin, cancel, done
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d (last: %v)", url, want, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
