package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPayloadIsValidJSONOfTheExactSize(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{name: "the benchmark's 1 KiB", size: 1024},
		{name: "smallest", size: 64},
		{name: "large", size: 64 << 10},
		{name: "too small", size: 63, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := Payload(tc.size)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(body) != tc.size || !json.Valid(body) {
				t.Fatalf("%d bytes, valid JSON %v; want %d bytes of JSON", len(body), json.Valid(body), tc.size)
			}
		})
	}
}

func TestHandlerAnswersEveryPathWithThePayload(t *testing.T) {
	body, err := Payload(1024)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(body))
	defer srv.Close()
	for _, path := range []string{"/", "/items/42?x=1"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != string(body) ||
			resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != 1024 {
			t.Fatalf("%s: %d, %d bytes, %q", path, resp.StatusCode, len(got), resp.Header.Get("Content-Type"))
		}
	}
}
