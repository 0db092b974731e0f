package handler

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenward/bff/problem"
)

// pageError is an error answered with a small HTML page: browser navigations (login,
// callback, GET logout) must not get JSON. Message is shown as is, so it MUST NOT hold a
// secret; Err is for logs only.
type pageError struct {
	Status  int
	Title   string
	Message string
	// Retry offers a "try again" link to /bff/login. Every page also links to the home
	// page, "/": the one way out that is always valid (a refused returnTo cannot be it).
	Retry bool
	Err   error
}

func (e *pageError) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Err.Error()
	}
	return e.Title
}

func (e *pageError) Unwrap() error { return e.Err }

func page(status int, title, msg string, err error) *pageError {
	return &pageError{Status: status, Title: title, Message: msg, Err: err}
}

// misconfiguredPage answers a navigation that failed on a setting no retry cures (a
// wrong oidc.issuer, a client the IdP refuses): the user learns that waiting does not
// help; the log line (from err) names the setting an operator must fix.
func misconfiguredPage(err error) *pageError {
	return page(http.StatusServiceUnavailable, "Sign-in is misconfigured",
		"This application's sign-in is set up incorrectly, so trying again will not help. "+
			"Please tell its administrator; the server log names the setting to fix.", err)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}a{color:#0b5fff}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
<p>{{if .Retry}}<a id="retry" href="/bff/login">Try again</a> or {{end}}<a id="home" href="/">Go to the home page</a></p>
</body></html>
`))

// errorHandler is the one renderer of the public listener (docs/architecture.md): handlers
// return errors, this decides the representation and never shows err.Error() to a client.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		req := c.Request()
		var pe *pageError
		var pr *problem.Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &pe):
			logFailure(log, req, pe.Status, err)
			writePage(c.Response(), pe)
		case errors.As(err, &pr):
			logFailure(log, req, pr.Status, err)
			problem.Write(c.Response(), pr)
		case errors.Is(err, context.Canceled):
			// The client left; nobody reads the answer (nginx's 499).
			c.Response().WriteHeader(499)
		case errors.As(err, &he):
			problem.Write(c.Response(), fromEcho(he))
		default:
			logFailure(log, req, http.StatusInternalServerError, err)
			problem.Write(c.Response(), problem.New(http.StatusInternalServerError, problem.Internal, "", nil))
		}
	}
}

// fromEcho maps the router's own errors (404, 405, body too large) to problems.
func fromEcho(he *echo.HTTPError) *problem.Error {
	switch he.Code {
	case http.StatusNotFound:
		return problem.New(he.Code, problem.NotFound, "no such endpoint", nil)
	case http.StatusMethodNotAllowed:
		return problem.New(he.Code, problem.MethodNotAllowed, "method not allowed", nil)
	case http.StatusServiceUnavailable, http.StatusInternalServerError:
		return problem.New(he.Code, problem.Internal, "", nil)
	default:
		return problem.New(he.Code, problem.BadRequest, http.StatusText(he.Code), nil)
	}
}

func writePage(w *echo.Response, pe *pageError) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(pe.Status)
	_ = pageTmpl.Execute(w, pe)
}

// logFailure logs the path (never the query: it may hold a code or a state) and the error,
// whose texts the idp and session packages keep free of secrets.
func logFailure(log *slog.Logger, r *http.Request, status int, err error) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	log.LogAttrs(r.Context(), level, "request failed",
		slog.String("request_id", r.Header.Get(HeaderRequestID)),
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("err", err.Error()))
}
