package testenv

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// SSEEvent is one event of a text/event-stream: its name and data.
type SSEEvent struct {
	Name, Data string
}

// Decode unmarshals the event's JSON data into v, failing the test if it does not parse.
func (ev SSEEvent) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(ev.Data), v); err != nil {
		t.Fatalf("event %s: data %q: %v", ev.Name, ev.Data, err)
	}
}

// EventStream is an open GET /bff/session/events read on its own goroutine.
type EventStream struct {
	Resp   *http.Response
	events chan SSEEvent
	// done receives how the body ended: nil for a clean end (final chunk), else the error.
	done chan error
	// Raw accumulates every line read (comments and retry hints included), for tests of
	// the wire format; read it only after Ended.
	raw strings.Builder
}

// SessionCookies is the Cookie header value of c's cookies for the BFF.
func (e *Env) SessionCookies(c *http.Client) string {
	u, _ := url.Parse(e.Server.URL)
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// OpenEvents sends GET /bff/session/events to base (e.Server.URL or a replica's URL) as a
// same-origin EventSource would (Sec-Fetch-Site: same-origin), with the Cookie header
// cookie and any extra headers (which replace the defaults). A 200 response's body is read
// in the background; any other response is returned with a nil stream, body unread.
func (e *Env) OpenEvents(t testing.TB, base, cookie string, extra http.Header) (*http.Response, *EventStream) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/bff/session/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for k, v := range extra {
		req.Header[k] = v
		if len(v) == 0 {
			req.Header.Del(k)
		}
	}
	c := e.NewClient(t)
	c.Timeout = 0 // a stream lasts as long as it lasts
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	s := &EventStream{Resp: resp, events: make(chan SSEEvent, 64), done: make(chan error, 1)}
	go s.read()
	return resp, s
}

func (s *EventStream) read() {
	sc := bufio.NewScanner(s.Resp.Body)
	var ev SSEEvent
	for sc.Scan() {
		line := sc.Text()
		s.raw.WriteString(line + "\n")
		switch {
		case line == "":
			if ev.Name != "" || ev.Data != "" {
				s.events <- ev
			}
			ev = SSEEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.Data += strings.TrimPrefix(line, "data: ")
		}
	}
	close(s.events)
	s.done <- sc.Err() // nil: a clean end, the final chunk came
}

// Next returns the next event, failing the test if none comes within wait.
func (s *EventStream) Next(t testing.TB, wait time.Duration) SSEEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
	}
	return SSEEvent{}
}

// Expect returns the next event and fails the test unless it is named name.
func (s *EventStream) Expect(t testing.TB, name string, wait time.Duration) SSEEvent {
	t.Helper()
	ev := s.Next(t, wait)
	if ev.Name != name {
		t.Fatalf("event %q (%s), want %q", ev.Name, ev.Data, name)
	}
	return ev
}

// None fails the test if an event comes within wait.
func (s *EventStream) None(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("unexpected event %q (%s)", ev.Name, ev.Data)
		}
		t.Fatal("the event stream ended")
	case <-time.After(wait):
	}
}

// Ended waits for the stream to end and fails the test unless it ended cleanly (with its
// final chunk, as an EventSource sees a normal end) and without another event; it
// returns every line the stream carried.
func (s *EventStream) Ended(t testing.TB, wait time.Duration) string {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("event %q (%s) where the end was expected", ev.Name, ev.Data)
		}
	case <-time.After(wait):
		t.Fatal("the event stream did not end")
	}
	if err := <-s.done; err != nil {
		t.Fatalf("the event stream did not end cleanly: %v", err)
	}
	return s.raw.String()
}
