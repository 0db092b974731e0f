package handler

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSPAFilesServesFilesAndTheIndexForRoutes: existing files are served as they are,
// a client-side route (no extension) gets index.html, a missing asset is a 404 (never
// the index page, which would confuse the app), directories are never listed, and only
// GET and HEAD are answered.
func TestSPAFilesServesFilesAndTheIndexForRoutes(t *testing.T) {
	spa := SPAFiles(fstest.MapFS{
		"index.html":     {Data: []byte("<title>index</title>")},
		"assets/app.js":  {Data: []byte("console.log(1)")},
		"assets/img.svg": {Data: []byte("<svg/>")},
	})
	tests := []struct {
		method, path string
		status       int
		body         string
		noCache      bool
	}{
		{http.MethodGet, "/", 200, "index", true},
		{http.MethodGet, "/assets/app.js", 200, "console.log", false},
		{http.MethodGet, "/orders/42", 200, "index", true},
		{http.MethodGet, "/assets/missing.js", 404, "", false},
		{http.MethodGet, "/assets/", 200, "index", true},
		{http.MethodGet, "/../../etc/passwd", 400, "invalid URL path", false}, // never a file outside fsys
		{http.MethodPost, "/", 405, "", false},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		spa.ServeHTTP(w, httptest.NewRequest(tc.method, "https://app.example"+tc.path, nil))
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) ||
			(w.Header().Get("Cache-Control") == "no-cache") != tc.noCache || strings.Contains(w.Body.String(), "app.js\"") {
			t.Errorf("%s %s: %d %q Cache-Control %q, want %d with %q (no-cache %v)", tc.method, tc.path, w.Code,
				w.Body.String(), w.Header().Get("Cache-Control"), tc.status, tc.body, tc.noCache)
		}
	}
}
