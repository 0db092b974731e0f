package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The optional cross-check with wrk (a C load generator, cheaper per request than ours):
// the same targets, connections and duration, interleaved, one thread. The request
// headers (the session cookie among them) go in a Lua script file of mode 0600, never on
// a command line.

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
)

// wrkResult is what wrk printed for one target.
type wrkResult struct {
	target   string
	rps      float64
	p50, p99 string
	non2xx   int
}

// writeWrkScript writes the headers of target as a wrk Lua script and returns its path.
func writeWrkScript(dir, target string, headers [][2]string) (string, error) {
	var b strings.Builder
	for _, h := range headers {
		fmt.Fprintf(&b, "wrk.headers[%q] = %q\n", h[0], h[1])
	}
	name := filepath.Join(dir, "wrk-"+target+".lua")
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("wrk script: %w", err)
	}
	return name, nil
}

// runWrk loads url for cfg.Duration with cfg.Conns connections.
func runWrk(ctx context.Context, cfg LoadConfig, name, url, script string) (*wrkResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+30*time.Second)
	defer cancel()
	secs := max(1, int(cfg.Duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, "wrk", "-t1", "-c"+strconv.Itoa(cfg.Conns), "-d"+strconv.Itoa(secs)+"s",
		"--latency", "-s", script, url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("wrk %s: %w", name, err)
	}
	return parseWrk(name, out.String())
}

func parseWrk(name, out string) (*wrkResult, error) {
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("wrk %s: no Requests/sec in its output", name)
	}
	r := &wrkResult{target: name}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	for _, m := range wrkLatency.FindAllStringSubmatch(out, -1) {
		if m[1] == "50" {
			r.p50 = m[2]
		} else {
			r.p99 = m[2]
		}
	}
	return r, nil
}
