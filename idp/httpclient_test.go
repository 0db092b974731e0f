package idp

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bigBody writes n bytes, declaring Content-Length or streaming chunked.
func bigBody(n int, declareLength bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if declareLength {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		chunk := strings.Repeat("a", 32<<10)
		for written := 0; written < n; written += len(chunk) {
			if _, err := io.WriteString(w, chunk[:min(len(chunk), n-written)]); err != nil {
				return
			}
			if f, ok := w.(http.Flusher); ok && !declareLength {
				f.Flush()
			}
		}
	}
}

func TestHTTPClientRefusesOversizedBodies(t *testing.T) {
	tests := []struct {
		name          string
		size          int
		declareLength bool
		wantErr       bool
	}{
		{name: "1 MiB exactly, declared", size: MaxResponseBytes, declareLength: true},
		{name: "1 MiB exactly, chunked", size: MaxResponseBytes},
		{name: "2 MiB declared", size: 2 << 20, declareLength: true, wantErr: true},
		{name: "2 MiB chunked", size: 2 << 20, wantErr: true},
		{name: "1 MiB + 1 chunked", size: MaxResponseBytes + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(bigBody(tt.size, tt.declareLength))
			defer srv.Close()
			resp, err := NewHTTPClient(5 * time.Second).Get(srv.URL)
			var n int64
			if err == nil {
				n, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if tt.wantErr {
				if !errors.Is(err, errResponseTooLarge) {
					t.Fatalf("err = %v, want errResponseTooLarge", err)
				}
				return
			}
			if err != nil || n != int64(tt.size) {
				t.Fatalf("read %d bytes, err %v; want %d, nil", n, err, tt.size)
			}
		})
	}
}

func TestHTTPClientDoesNotFollowRedirects(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var stolen atomic.Int32
			thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				stolen.Add(1)
			}))
			defer thief.Close()
			idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, thief.URL+"/steal", status)
			}))
			defer idp.Close()

			resp, err := NewHTTPClient(time.Second).Post(idp.URL, "application/x-www-form-urlencoded",
				strings.NewReader("code=c&client_secret="+testSecret))
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, errRedirectRefused) {
				t.Fatalf("err = %v, want errRedirectRefused", err)
			}
			if n := stolen.Load(); n != 0 {
				t.Fatalf("redirect target received %d requests, want 0", n)
			}
		})
	}
}

func TestHTTPClientTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := NewHTTPClient(200 * time.Millisecond).Get(srv.URL)
	if err == nil {
		t.Fatal("want a timeout error")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("request took %v, want about 200ms", d)
	}
}
