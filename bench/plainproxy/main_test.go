package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPlainProxyForwardsLikeTheBFFRoute: the baseline does the same routing work as the
// BFF's route (prefix stripped, query kept, X-Forwarded-* set), so the comparison is fair.
func TestPlainProxyForwardsLikeTheBFFRoute(t *testing.T) {
	var gotPath, gotQuery, gotXFF string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotXFF = r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Forwarded-For")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer up.Close()
	tests := []struct {
		name      string
		path      string
		wantPath  string
		wantQuery string
	}{
		{name: "prefix stripped", path: "/api/items/42?expand=owner", wantPath: "/items/42", wantQuery: "expand=owner"},
		{name: "other paths kept", path: "/other", wantPath: "/other"},
	}
	p, err := New(up.URL, "/api")
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	defer front.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(front.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || gotPath != tc.wantPath || gotQuery != tc.wantQuery || gotXFF == "" {
				t.Fatalf("status %d, upstream saw %q ? %q, X-Forwarded-For %q", resp.StatusCode, gotPath, gotQuery, gotXFF)
			}
		})
	}
}

func TestNewRefusesARelativeUpstream(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:9000", "ftp://x", "/path"} {
		if _, err := New(raw, "/api"); err == nil {
			t.Errorf("New(%q) accepted it", raw)
		}
	}
}
