// Command upstream is the benchmark's API: it answers every request with the same ~1 KiB
// JSON document (Content-Length set, keep-alive), doing as little work as it can, so that
// what the harness measures in front of it is the proxies.
//
//	upstream -listen 127.0.0.1:0 -size 1024
//
// Its first line on stdout is "listening on http://HOST:PORT"; bench/run reads it. It stops
// on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tokenward/bff/bench/internal/serve"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	size := flag.Int("size", 1024, "size in bytes of the JSON answer (at least 64)")
	flag.Parse()
	if err := run(*listen, *size); err != nil {
		fmt.Fprintln(os.Stderr, "upstream:", err)
		os.Exit(1)
	}
}

func run(listen string, size int) error {
	body, err := Payload(size)
	if err != nil {
		return err
	}
	return serve.Run(listen, &http.Server{Handler: Handler(body), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute})
}

// Handler answers every request with body as application/json.
func Handler(body []byte) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	})
}

// Payload returns a valid JSON document of exactly size bytes: a list of small items,
// padded.
func Payload(size int) ([]byte, error) {
	if size < 64 {
		return nil, fmt.Errorf("size %d: must be at least 64", size)
	}
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < size-64; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item-%04d","ok":true}`, i, i)
	}
	b.WriteString(`],"pad":"`)
	b.WriteString(strings.Repeat("x", size-b.Len()-2))
	b.WriteString(`"}`)
	return []byte(b.String()), nil
}
