package faults

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// echoServer echoes each line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, deadline time.Duration) error {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(deadline))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

// echoThroughProxy is a proxy to an echo server and a connection through it.
func echoThroughProxy(t *testing.T) (*Proxy, net.Conn) {
	t.Helper()
	p := NewTestProxy(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

func TestProxyStallHoldsBytesUntilResume(t *testing.T) {
	p, c := echoThroughProxy(t)
	if err := roundTrip(t, c, 5*time.Second); err != nil {
		t.Fatalf("before the stall: %v", err)
	}
	p.Stall()
	if err := roundTrip(t, c, 200*time.Millisecond); err == nil {
		t.Fatal("an answer came through the stall")
	}
	p.Resume()
	// The stalled ping is delivered on Resume, as a command the client gave up on would be.
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}

func TestProxyKillRefusesUntilRestart(t *testing.T) {
	p, c := echoThroughProxy(t)
	p.Kill()
	if err := roundTrip(t, c, 2*time.Second); err == nil {
		t.Fatal("an open connection survived Kill")
	}
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		_ = c2.Close()
		t.Fatal("a new connection was accepted while killed")
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := roundTrip(t, c3, 5*time.Second); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
}

func TestEndpointFaults(t *testing.T) {
	provider := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	e := NewEndpoint(provider, "/token")
	srv := httptest.NewServer(e)
	defer srv.Close()
	get := func(path string) (int, error) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		return resp.StatusCode, nil
	}
	e.Status(http.StatusServiceUnavailable)
	if code, err := get("/token"); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("Status(503): %d, %v", code, err)
	}
	if code, err := get("/other"); err != nil || code != http.StatusOK {
		t.Fatalf("another path: %d, %v", code, err)
	}
	e.Status(0)
	e.Refuse(true)
	if _, err := get("/token"); err == nil {
		t.Fatal("Refuse: got an answer")
	}
	e.Refuse(false)
	hooked := false
	e.AfterAnswer(func() { hooked = true })
	if code, err := get("/token"); err != nil || code != http.StatusOK || !hooked || e.Answered() != 1 {
		t.Fatalf("pass-through: %d, %v, hook ran %v, answered %d", code, err, hooked, e.Answered())
	}
}
