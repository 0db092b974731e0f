package proxy

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenward/bff/problem"
)

// bodyOutcome is what an upstream made of a request body.
type bodyOutcome struct {
	n   int
	err error
}

// recordingBodies is an upstream that reads each body whole and reports what it got.
func recordingBodies(t *testing.T) (*upstream, chan bodyOutcome) {
	t.Helper()
	got := make(chan bodyOutcome, 8)
	u := newUpstream(t, nil)
	u.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		n, err := io.Copy(io.Discard, r.Body)
		got <- bodyOutcome{n: int(n), err: err}
		io.WriteString(w, "ok")
	})
	return u, got
}

func limitTo(n int) func(*Route) {
	return func(r *Route) { r.MaxRequestBody = int64(n); r.Auth = AuthNone }
}

// noLength hides a reader's length so that the client sends it chunked.
type noLength struct{ io.Reader }

func expectTooLarge(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	var p struct {
		Type   problem.Type `json:"type"`
		Status int          `json:"status"`
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("status %d %q, want 413 problem+json; body %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Type != problem.BadRequest || p.Status != 413 {
		t.Errorf("problem = %+v (%v), want bad_request 413", p, err)
	}
	if !resp.Close {
		t.Error("a 413 must close the connection: the unread rest of the body is never parsed")
	}
}

// TestDeclaredOversizeBodyNeverReachesTheUpstream: a Content-Length over the route's
// maxRequestBody is answered 413 at once; the upstream sees nothing.
func TestDeclaredOversizeBodyNeverReachesTheUpstream(t *testing.T) {
	up, _ := recordingBodies(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, limitTo(1024))})
	resp, body := f.do(t, http.MethodPost, "/api/upload", nil, strings.NewReader(strings.Repeat("a", 2048)))
	expectTooLarge(t, resp, body)
	if n := up.hits.Load(); n != 0 {
		t.Errorf("the upstream saw %d request(s) of a body declared too large", n)
	}
}

// TestChunkedBodyPastTheLimitIsAbortedNotTruncated: a chunked body that grows past
// maxRequestBody is cut; the client gets 413 and the upstream, which got the head and the
// first 16 KiB, sees the body fail, never a shorter body that ends cleanly.
func TestChunkedBodyPastTheLimitIsAbortedNotTruncated(t *testing.T) {
	const limit = 16 << 10 // past the transport's 4 KiB write buffer: the upstream gets the head
	up, got := recordingBodies(t)
	f := newFixture(t, []Route{cfgRoute("/api/", up.URL, limitTo(limit))})
	resp, body := f.do(t, http.MethodPost, "/api/upload", nil, noLength{strings.NewReader(strings.Repeat("a", 256<<10))})
	expectTooLarge(t, resp, body)
	select {
	case o := <-got:
		if o.err == nil {
			t.Errorf("the upstream read a complete body of %d bytes: a cut body must look aborted", o.n)
		}
		if o.n > limit {
			t.Errorf("the upstream read %d bytes, more than the limit", o.n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream never saw the request")
	}
}

// TestBodyWithinTheLimitStreamsWhole: at the limit, and with maxRequestBody 0 (no
// bound), chunked bodies reach the upstream whole.
func TestBodyWithinTheLimitStreamsWhole(t *testing.T) {
	for _, tt := range []struct {
		name        string
		limit, size int
	}{
		{name: "exactly the limit", limit: 1024, size: 1024},
		{name: "no bound", limit: 0, size: 256 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up, got := recordingBodies(t)
			f := newFixture(t, []Route{cfgRoute("/api/", up.URL, limitTo(tt.limit))})
			resp, body := f.do(t, http.MethodPost, "/api/upload", nil, noLength{strings.NewReader(strings.Repeat("a", tt.size))})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			select {
			case o := <-got:
				if o.err != nil || o.n != tt.size {
					t.Errorf("upstream read %d bytes, err %v; want %d, nil", o.n, o.err, tt.size)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream never reported")
			}
		})
	}
}

// TestMaxBytesErrorIs413 keeps the error mapping honest: a body cut by the limit is the
// client's fault, never a 502 blamed on the upstream.
func TestMaxBytesErrorIs413(t *testing.T) {
	f := newFixture(t, nil)
	rec := &headerRecorder{h: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "http://x/api/", nil)
	f.p.handleError(rec, req, errors.Join(errors.New("write"), &http.MaxBytesError{Limit: 1}))
	if rec.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.status)
	}
}

type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(s int)           { r.status = s }
