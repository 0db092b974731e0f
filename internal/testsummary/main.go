// Command testsummary runs `go test -json` with the arguments it is given and prints what
// `go test` would have printed (the ok/FAIL line of every package, the output of failed
// tests; everything with -v), then a "skipped:" list: each skipped test with its reason,
// so that a run without BFF_TEST_REDIS_URL or without a browser says so at the end
// instead of passing quietly. Its exit status is go test's. scripts/test runs it.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], "", os.Stdout, os.Stderr))
}

// run runs go test -json args in dir ("" for the current directory) and returns its
// exit status.
func run(args []string, dir string, stdout, stderr io.Writer) int {
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Dir, cmd.Stderr = dir, stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testsummary: %v\n", err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testsummary: start go test: %v\n", err)
		return 1
	}
	s := newSummary(stdout, verbose(args))
	if err := s.read(out); err != nil {
		fmt.Fprintf(stderr, "testsummary: %v\n", err)
	}
	err = cmd.Wait()
	s.printSkips()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		fmt.Fprintf(stderr, "testsummary: go test: %v\n", err)
		return 1
	}
}

// verbose reports whether go test was asked for -v: then every line is printed.
func verbose(args []string) bool {
	for _, a := range args {
		if a == "-v" || a == "-v=true" || a == "-test.v" || a == "-test.v=true" {
			return true
		}
	}
	return false
}

// event is one line of test2json output (go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// skip is one skipped test and its reason (what it logged before t.Skip returned).
type skip struct {
	pkg, test, reason string
}

// summary turns the event stream back into go test's usual output, remembering skips.
type summary struct {
	w       io.Writer
	verbose bool
	// held is the output of each running test, by package and top-level test: it is
	// printed if the top-level test fails, dropped otherwise (as go test without -v).
	held  map[string][]event
	skips []skip
}

func newSummary(w io.Writer, verbose bool) *summary {
	return &summary{w: w, verbose: verbose, held: map[string][]event{}}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(s.w, sc.Text()) // not an event (go test's own message): as is
			continue
		}
		s.handle(e)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading go test output: %w", err)
	}
	return nil
}

func (s *summary) handle(e event) {
	key := e.Package + " " + topLevel(e.Test)
	switch {
	case (e.Action == "output" || e.Action == "build-output") && e.Test == "":
		s.printPackageLine(e)
	case e.Action == "output":
		if s.verbose {
			fmt.Fprint(s.w, e.Output)
		}
		s.held[key] = append(s.held[key], e) // for a failure's output and a skip's reason
	case e.Action == "skip" && e.Test != "":
		s.skips = append(s.skips, skip{pkg: e.Package, test: e.Test, reason: reasonOf(s.held[key], e.Test)})
		s.release(key, e.Test, false)
	case e.Action == "fail" && e.Test != "":
		s.release(key, e.Test, true)
	case e.Action == "pass" && e.Test != "":
		s.release(key, e.Test, false)
	}
}

// printPackageLine prints package-level output (ok/FAIL lines, build errors). go test
// without -v does not print a passing package's "PASS".
func (s *summary) printPackageLine(e event) {
	if !s.verbose && e.Output == "PASS\n" {
		return
	}
	fmt.Fprint(s.w, e.Output)
}

// release ends test's part of its top-level test's held output: a failed top-level test
// prints it all; a finished top-level test drops it.
func (s *summary) release(key, test string, failed bool) {
	if test != topLevel(test) {
		return // a subtest: its top-level test decides
	}
	if failed && !s.verbose {
		for _, e := range s.held[key] {
			fmt.Fprint(s.w, e.Output)
		}
	}
	delete(s.held, key)
}

func (s *summary) printSkips() {
	if len(s.skips) == 0 {
		return
	}
	slices.SortStableFunc(s.skips, func(a, b skip) int { return strings.Compare(a.pkg, b.pkg) })
	fmt.Fprintf(s.w, "\nskipped: %d test(s)\n", len(s.skips))
	for _, k := range s.skips {
		fmt.Fprintf(s.w, "  %s %s: %s\n", k.pkg, k.test, k.reason)
	}
}

// reasonOf is what test logged before it was skipped (t.Skip's message), on one line.
func reasonOf(held []event, test string) string {
	var lines []string
	for _, e := range held {
		line := strings.TrimSpace(e.Output)
		if e.Test != test || line == "" || strings.HasPrefix(line, "=== ") || strings.HasPrefix(line, "--- ") {
			continue
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "(no reason given)"
	}
	return strings.Join(lines, " ")
}

func topLevel(test string) string {
	top, _, _ := strings.Cut(test, "/")
	return top
}
