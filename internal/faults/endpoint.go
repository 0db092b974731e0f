package faults

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint wraps a provider's handler and injects faults into the requests of one path
// (its token endpoint); other paths pass through. Safe for concurrent use; the zero faults
// pass everything through.
type Endpoint struct {
	next http.Handler
	path string

	mu          sync.Mutex
	delayBefore time.Duration // before the provider sees the request
	delayAfter  time.Duration // after the provider answered, before the client gets it
	status      int           // answered instead of the provider (e.g. 503); 0: none
	refuse      bool          // the connection is closed without an answer
	afterAnswer func()        // runs once the provider answered (e.g. to crash a replica)

	requests, answered atomic.Int64
}

// NewEndpoint wraps next; the faults apply to requests for path.
func NewEndpoint(next http.Handler, path string) *Endpoint {
	return &Endpoint{next: next, path: path}
}

// DelayBefore holds each request for d before the provider sees it.
func (e *Endpoint) DelayBefore(d time.Duration) { e.set(func() { e.delayBefore = d }) }

// DelayAfter holds the provider's answer for d: the provider has acted (a refresh token is
// rotated) but the client does not know yet.
func (e *Endpoint) DelayAfter(d time.Duration) { e.set(func() { e.delayAfter = d }) }

// Status answers code without calling the provider (0: back to normal).
func (e *Endpoint) Status(code int) { e.set(func() { e.status = code }) }

// Refuse closes each connection without an answer (false: back to normal).
func (e *Endpoint) Refuse(on bool) { e.set(func() { e.refuse = on }) }

// AfterAnswer runs fn after the provider answered and before the answer is sent (nil:
// nothing).
func (e *Endpoint) AfterAnswer(fn func()) { e.set(func() { e.afterAnswer = fn }) }

// Requests counts the requests for the path; Answered those the provider answered.
func (e *Endpoint) Requests() int64 { return e.requests.Load() }

// Answered counts the requests the provider itself answered.
func (e *Endpoint) Answered() int64 { return e.answered.Load() }

func (e *Endpoint) set(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f()
}

// ServeHTTP implements http.Handler.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != e.path {
		e.next.ServeHTTP(w, r)
		return
	}
	e.requests.Add(1)
	e.mu.Lock()
	before, after, status, refuse, hook := e.delayBefore, e.delayAfter, e.status, e.refuse, e.afterAnswer
	e.mu.Unlock()
	switch {
	case refuse:
		refuseConn(w)
		return
	case status != 0:
		http.Error(w, http.StatusText(status), status)
		return
	}
	if !sleep(r, before) {
		return
	}
	rec := httptest.NewRecorder()
	e.next.ServeHTTP(rec, r)
	e.answered.Add(1)
	if hook != nil {
		hook()
	}
	if !sleep(r, after) {
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// sleep waits d or until the client went away (false).
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// refuseConn closes the client's connection without an answer.
func refuseConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = c.Close()
}
