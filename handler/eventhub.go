package handler

import (
	"sync"

	"github.com/tokenward/bff/session"
)

// The session event streams of one replica (GET /bff/session/events) meet the store's
// announcements here: ONE Store.Watch (the assembly's, in bff.go) hands every event to
// Handlers.SessionEvent, and the hub wakes the streams of that session's id hash. A
// stream is its handler's goroutine and nothing else: the hub only sets a flag and does a
// non-blocking send on the stream's wake channel, so a slow client never holds it up.

// Default bounds of the hub (Config.MaxEventStreams, maxEventStreamsPerSession,
// MaxEventStreamsPerSubject).
const (
	DefaultMaxEventStreams = 10000
	// maxEventStreamsPerSession: tabs of one browser session; one more gets 429.
	maxEventStreamsPerSession = 16
	// MaxEventStreamsPerSubject: streams of one user (provider and subject) on one replica,
	// across all their sessions (4 full browsers' worth); one more gets 429. Without it one
	// account could log in again and again and hold server.maxEventStreams alone, starving
	// every other user of the replica.
	MaxEventStreamsPerSubject = 64
)

// What a stream is woken for (eventSub.flags).
const (
	wakeEnded    uint8 = 1 << iota // the session ended (reason in eventSub.reason)
	wakeRecheck                    // refreshed, or the watch resubscribed: read the record again
	wakeShutdown                   // this replica is going away
)

// eventSub is one open stream. Its fields are guarded by the hub's mutex.
type eventSub struct {
	wake   chan struct{} // capacity 1: a pending wake-up is never lost, never blocks
	flags  uint8
	reason string // why the session ended, for wakeEnded
}

// eventHub is the replica's registry of open event streams, by session id hash.
type eventHub struct {
	mu         sync.Mutex
	subs       map[string]map[*eventSub]struct{}
	bySubject  map[string]int // open streams per subject key (subjectKey)
	total      int
	max        int
	perSession int
	perSubject int
	closed     bool // shutting down: no new stream
}

func newEventHub(max int) *eventHub {
	if max <= 0 {
		max = DefaultMaxEventStreams
	}
	return &eventHub{subs: make(map[string]map[*eventSub]struct{}), bySubject: make(map[string]int),
		max: max, perSession: maxEventStreamsPerSession, perSubject: MaxEventStreamsPerSubject}
}

// Why subscribe refused a stream.
type hubRefusal uint8

const (
	hubOK hubRefusal = iota
	hubSessionFull
	hubSubjectFull
	hubReplicaFull
	hubClosed
)

// subjectKey names a user for the per-subject bound: the same sub at two providers is two
// users. In memory only.
func subjectKey(provider, sub string) string { return provider + "\x00" + sub }

// subscribe opens a stream for the session idHash of the user subject (subjectKey),
// within the bounds.
func (h *eventHub) subscribe(idHash, subject string) (*eventSub, hubRefusal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, hubClosed
	case h.total >= h.max:
		return nil, hubReplicaFull
	case len(h.subs[idHash]) >= h.perSession:
		return nil, hubSessionFull
	case h.bySubject[subject] >= h.perSubject:
		return nil, hubSubjectFull
	}
	s := &eventSub{wake: make(chan struct{}, 1)}
	set := h.subs[idHash]
	if set == nil {
		set = make(map[*eventSub]struct{}, 1)
		h.subs[idHash] = set
	}
	set[s] = struct{}{}
	h.bySubject[subject]++
	h.total++
	return s, hubOK
}

// unsubscribe closes the stream s of idHash and subject.
func (h *eventHub) unsubscribe(idHash, subject string, s *eventSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.subs[idHash]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	h.total--
	if h.bySubject[subject]--; h.bySubject[subject] <= 0 {
		delete(h.bySubject, subject)
	}
	if len(set) == 0 {
		delete(h.subs, idHash)
	}
}

// take returns and clears what s was woken for.
func (h *eventHub) take(s *eventSub) (flags uint8, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	flags, reason = s.flags, s.reason
	s.flags = 0
	return flags, reason
}

// notifyLocked flags s and wakes it. h.mu must be held.
func notifyLocked(s *eventSub, flag uint8, reason string) {
	if flag == wakeEnded && s.flags&wakeEnded == 0 {
		s.reason = reason // the first reason heard wins
	}
	s.flags |= flag
	select {
	case s.wake <- struct{}{}:
	default: // already woken: it will take every flag at once
	}
}

// ended wakes the streams of the sessions idHashes with reason.
func (h *eventHub) ended(reason string, idHashes ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range idHashes {
		for s := range h.subs[id] {
			notifyLocked(s, wakeEnded, reason)
		}
	}
}

// dispatch hands one store announcement to the streams it concerns.
func (h *eventHub) dispatch(ev session.Event) {
	switch ev.Kind {
	case session.EventEnded:
		h.ended(endedElsewhere, ev.IDHash)
	case session.EventRefreshed:
		h.mu.Lock()
		for s := range h.subs[ev.IDHash] {
			notifyLocked(s, wakeRecheck, "")
		}
		h.mu.Unlock()
	case session.EventResubscribed:
		// Announcements may have been missed: every stream reads its session again.
		h.all(wakeRecheck)
	}
}

// all flags every open stream.
func (h *eventHub) all(flag uint8) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			notifyLocked(s, flag, "")
		}
	}
}

// shutdown refuses new streams and tells the open ones to end with a retry hint.
func (h *eventHub) shutdown() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.all(wakeShutdown)
}

// open is the number of open streams.
func (h *eventHub) open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// SessionEvent hands one of the store's announcements (Store.Watch) to the open event
// streams of its session. The assembly calls it from its one Watch.
func (h *Handlers) SessionEvent(ev session.Event) { h.events.dispatch(ev) }

// CloseEvents ends every open event stream with a retry hint and refuses new ones
// (shutdown): an event stream never finishes on its own.
func (h *Handlers) CloseEvents() { h.events.shutdown() }

// EventStreams is the number of open event streams.
func (h *Handlers) EventStreams() int { return h.events.open() }
