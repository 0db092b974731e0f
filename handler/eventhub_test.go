package handler

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEventHubBoundsStreamsPerSubject: one user's streams across all their sessions stop
// at the per-subject bound (another user, or the same sub at another provider, is not
// held up), and a closed stream frees its place.
func TestEventHubBoundsStreamsPerSubject(t *testing.T) {
	h := newEventHub(1000)
	alice, aliceAtB := subjectKey("a", "alice"), subjectKey("b", "alice")
	var open []*eventSub
	for i := range MaxEventStreamsPerSubject {
		s, refused := h.subscribe("session-"+string(rune('A'+i%26))+string(rune('a'+i/26)), alice)
		if refused != hubOK {
			t.Fatalf("stream %d of alice refused (%d)", i, refused)
		}
		open = append(open, s)
	}
	if _, refused := h.subscribe("another-session", alice); refused != hubSubjectFull {
		t.Fatalf("stream %d of alice: %d, want hubSubjectFull", MaxEventStreamsPerSubject+1, refused)
	}
	if _, refused := h.subscribe("bobs-session", subjectKey("a", "bob")); refused != hubOK {
		t.Fatalf("bob's stream: %d, want ok", refused)
	}
	if _, refused := h.subscribe("alice-at-b", aliceAtB); refused != hubOK {
		t.Fatalf("alice's stream at provider b: %d, want ok", refused)
	}
	h.unsubscribe("session-Aa", alice, open[0])
	if _, refused := h.subscribe("another-session", alice); refused != hubOK {
		t.Fatalf("alice's stream after one closed: %d, want ok", refused)
	}
}

// TestSessionEventsBeyondTheSubjectBoundIs429: a stream of a user already at the bound
// (here lowered to 1) gets 429 problem+json with Retry-After, from another session too.
func TestSessionEventsBeyondTheSubjectBoundIs429(t *testing.T) {
	u := newUnit(t, asIs, nil)
	u.h.events.perSubject = 1
	_, first := u.session(t, nil)
	_, second := u.session(t, nil) // alice again, another browser
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.serve(eventsRequest(ctx, first))
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); u.h.EventStreams() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first stream never opened")
		}
	}
	// Bounded: were the stream let through, it would run until this context ends.
	bounded, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	w := u.serve(eventsRequest(bounded, second))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" ||
		!strings.Contains(w.Body.String(), "this user already has 1 event streams open") {
		t.Fatalf("second stream of alice: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

func eventsRequest(ctx context.Context, ck *http.Cookie) *http.Request {
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "https://app.example/bff/session/events", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(ck)
	return r
}
