package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration, tied to the key path that holds it
// ("session.keys[1]", "routes[0].upstream"). Message never contains a secret value.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// ValidationError lists every problem found at once, sorted by key path (list indexes
// compared as numbers), so a user fixes a configuration in one round. Load returns it
// for problems with keys (unknown keys, bad env values, secret files); Validate for
// problems with values. Match it with errors.As.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects Problems while a configuration is checked.
type problems []Problem

func (ps *problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns nil when there is no problem, else a *ValidationError with the problems
// sorted. It returns a plain nil error, never a typed nil.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sorted := slices.Clone([]Problem(ps))
	SortProblems(sorted)
	return &ValidationError{Problems: sorted}
}

// SortProblems sorts ps in place by key path, comparing list indexes as numbers
// (routes[2] before routes[10]), keeping the order of problems at the same path. Use it
// to merge the problems of Load and Validate into one report.
func SortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return comparePaths(a.Path, b.Path) })
}

// comparePaths orders key paths part by part; a list index compares as a number, so
// routes[2] comes before routes[10].
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		pa, ra := nextPathPart(a)
		pb, rb := nextPathPart(b)
		if c := comparePart(pa, pb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return cmp.Compare(len(a), len(b))
}

// nextPathPart splits "routes[10].path" into "routes", "[10].path"; "[10].path" into
// "[10]", ".path"; ".path" into "path", "".
func nextPathPart(s string) (part, rest string) {
	s = strings.TrimPrefix(s, ".")
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			return s[:end+1], s[end+1:]
		}
	}
	end := strings.IndexAny(s, ".[")
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

func comparePart(a, b string) int {
	ia, errA := strconv.Atoi(strings.Trim(a, "[]"))
	ib, errB := strconv.Atoi(strings.Trim(b, "[]"))
	if errA == nil && errB == nil && strings.HasPrefix(a, "[") && strings.HasPrefix(b, "[") {
		return cmp.Compare(ia, ib)
	}
	return strings.Compare(a, b)
}
