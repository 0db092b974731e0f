package proxy

import (
	"context"
	"sync"
)

// streamSet tracks the live websocket and SSE streams by session key (the shape of caddy's
// tracked hijacked connections), so that a session's end can cut them. Streams without a
// session (auth none or optional) are held under the key "", which no session has, so
// that shutdown ends them cleanly too; they are not counted as live streams. Only streams
// are registered: ordinary requests never take its lock. Safe for concurrent use.
type streamSet struct {
	mu     sync.Mutex
	closed bool // after closeAll, new streams are cut at once
	live   map[string]map[*exchange]struct{}
	// running counts the registered streams until their handlers return, cut or not, so
	// that shutdown can wait for their clean ends (Shutdown does not wait for hijacked
	// connections). No stream is registered after closeAll.
	running sync.WaitGroup
}

// add registers x under key; after closeAll it cuts x instead.
func (s *streamSet) add(key string, x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		x.cut(endShutdown)
		return
	}
	if s.live == nil {
		s.live = make(map[string]map[*exchange]struct{})
	}
	m := s.live[key]
	if m == nil {
		m = make(map[*exchange]struct{})
		s.live[key] = m
	}
	m[x] = struct{}{}
	x.tracked, x.streamKey = true, key
	s.running.Add(1)
}

// remove unregisters x (a no-op when it was cut and dropped already); its handler is
// returning.
func (s *streamSet) remove(x *exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.running.Done()
	m := s.live[x.streamKey]
	delete(m, x)
	if len(m) == 0 {
		delete(s.live, x.streamKey)
	}
}

// closeSession cuts and drops the streams of key and returns how many there were.
func (s *streamSet) closeSession(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.live[key]
	for x := range m {
		x.cut(endSession)
	}
	delete(s.live, key)
	return len(m)
}

// closeAll cuts and drops every stream and makes add cut new ones.
func (s *streamSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, m := range s.live {
		for x := range m {
			x.cut(endShutdown)
		}
	}
	clear(s.live)
}

// wait returns when every registered stream's handler has returned, or with ctx's error.
func (s *streamSet) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *streamSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, m := range s.live {
		if k != "" {
			n += len(m)
		}
	}
	return n
}

// keys returns the session keys that have live streams.
func (s *streamSet) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.live))
	for k := range s.live {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}
