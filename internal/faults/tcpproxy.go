package faults

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections from its own loopback address to a target (a Redis
// server), and injects faults on demand. Safe for concurrent use.
type Proxy struct {
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener // nil while killed
	conns   map[net.Conn]struct{}
	open    chan struct{} // closed while bytes flow; a new, open one while stalled
	delay   time.Duration
	closed  bool
	serving sync.WaitGroup
	held    sync.WaitGroup // chunks held by a stall, until written on Resume
}

// NewProxy listens on 127.0.0.1 (a random port) and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faults: listen: %w", err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, open: open}
	p.serve(ln)
	return p, nil
}

// Addr is the proxy's address (host:port); it stays the same across Kill and Restart.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.serving.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	})
}

// forward pipes c to a new connection to the target, both ways, through the faults.
func (p *Proxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done
	p.untrack(c, up)
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil || p.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// pipe copies src to dst chunk by chunk, holding each chunk while the proxy is stalled and
// for the configured delay.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.send(dst, buf[:n]) {
			return
		}
		if err != nil { // EOF or a closed connection: the other direction is closed by forward
			return
		}
	}
}

// send writes chunk to dst once the proxy is not stalled, after the delay.
func (p *Proxy) send(dst net.Conn, chunk []byte) bool {
	open, delay, stalled := p.gate()
	if stalled {
		defer p.held.Done()
	}
	<-open
	if delay > 0 {
		time.Sleep(delay)
	}
	_, err := dst.Write(chunk)
	return err == nil
}

// gate is the channel to wait on and the delay; stalled chunks are counted in held (under
// mu, so that Resume's close happens after every count it must wait for).
func (p *Proxy) gate() (open <-chan struct{}, delay time.Duration, stalled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		stalled = true
		p.held.Add(1)
	}
	return p.open, p.delay, stalled
}

// Stall holds every byte in both directions (connections stay open, as with a server
// that stopped answering) until Resume. Bytes read meanwhile are delivered on Resume, so a
// command the client gave up on still runs on the server.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // already stalled
	}
}

// Resume lets the held bytes through and returns once they were written (to a peer that is
// still there): a command held by the stall has reached the server.
func (p *Proxy) Resume() {
	p.mu.Lock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
	p.mu.Unlock()
	p.held.Wait()
}

// Delay holds every chunk for d (0: none).
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Drop closes every open connection; new ones are accepted.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked()
}

func (p *Proxy) dropLocked() {
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Kill closes the listener (new connections are refused) and every open connection, as a
// dead server does, until Restart.
func (p *Proxy) Kill() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.dropLocked()
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
		p.serving.Wait()
	}
}

// Restart listens again on the same address after Kill.
func (p *Proxy) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.closed {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faults: restart: %w", err)
	}
	p.serve(ln)
	return nil
}

// Close stops the proxy for good.
func (p *Proxy) Close() error {
	p.Resume()
	p.Kill()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}
