package bff

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tokenward/bff/problem"
)

// readBFFBody reads a /bff/* request's body whole (limitBody bounds it to 64 KiB) before
// any handler runs, within timeout (server.bodyReadTimeout) from now: a client trickling
// its body (a slow-body attack on /bff/backchannel-logout, which takes a form from
// anyone) holds the connection that long and no longer. It answers 408 (the body did not
// arrive in time), 413 (a body of unknown length past the bound) or 400, each closing the
// connection, and then returns false; otherwise the handler gets the body from memory.
//
// The bound is a read deadline on the connection, lifted once the body is in (a deadline
// left behind would end the connection's idle read that follows the body and cancel the
// request while its handler runs). Where the writer cannot set one (an application's own
// server wrapping the writer without Unwrap), the body is read without it.
func readBFFBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	rc := http.NewResponseController(w)
	bounded := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	if err != nil {
		// The deadline stays: the connection closes after the answer, and the server's
		// drain of the rest of the body must not wait for the client either.
		writeBodyProblem(w, err)
		return false
	}
	if bounded {
		_ = rc.SetReadDeadline(time.Time{})
	}
	r.Body = io.NopCloser(&buf)
	return true
}

// writeBodyProblem answers a /bff/* body that could not be read, closing the connection:
// the rest of the body is never parsed as a request.
func writeBodyProblem(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		problem.Write(w, problem.New(http.StatusRequestTimeout, problem.BadRequest, "the request body did not arrive in time", nil))
	case errors.As(err, &tooBig):
		problem.Write(w, problem.New(http.StatusRequestEntityTooLarge, problem.BadRequest, "request body too large", nil))
	default:
		problem.Write(w, problem.New(http.StatusBadRequest, problem.BadRequest, "the request body could not be read", nil))
	}
}
