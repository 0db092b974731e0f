// Package promexpr finds the series selectors of a PromQL expression — metric names and
// their label matchers — so that the chart's alert rules can be checked against the
// metrics the BFF registers. It is a scanner, not a parser: it knows PromQL's tokens
// (strings, numbers, durations, identifiers, label matchers, range and subquery
// brackets) and tells a metric name from a function, a keyword or a grouping label by
// what surrounds it. Prometheus's own parser (github.com/prometheus/prometheus) would
// bring the whole server's module graph into deploy/check for a few expressions.
package promexpr

import (
	"errors"
	"fmt"
	"strings"
)

// Matcher is one label matcher: label op "value".
type Matcher struct {
	Label, Op, Value string
}

// Selector is one series selector: a metric name with its matchers.
type Selector struct {
	Metric   string
	Matchers []Matcher
}

// ErrSyntax is returned (wrapped) for an expression the scanner cannot follow.
var ErrSyntax = errors.New("promexpr: syntax")

// keywords are PromQL's operators, modifiers and aggregations spelt as identifiers (an
// aggregation may be followed by "by (…)" rather than by its parenthesis).
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// grouping keywords are followed by a parenthesised list of label names, not series.
var grouping = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// Selectors returns the series selectors of expr in order of appearance. A selector
// without a metric name ({job="x"}) is an error: the rules must name their metrics.
func Selectors(expr string) ([]Selector, error) {
	s := scanner{src: expr}
	var out []Selector
	depth := 0
	for {
		s.skipSpace()
		if s.eof() {
			break
		}
		c := s.peek()
		switch {
		case c == '"' || c == '\'' || c == '`':
			if _, err := s.str(); err != nil {
				return nil, err
			}
		case isDigit(c) || c == '.' && s.pos+1 < len(s.src) && isDigit(s.src[s.pos+1]):
			s.number()
		case isIdentStart(c):
			sel, ok, err := s.identifier()
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, sel)
			}
		case c == '{':
			return nil, fmt.Errorf("%w: a selector without a metric name at offset %d", ErrSyntax, s.pos)
		case c == '[':
			if err := s.skipPast(']'); err != nil {
				return nil, err
			}
		case c == '(':
			depth++
			s.pos++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("%w: unbalanced ) at offset %d", ErrSyntax, s.pos)
			}
			s.pos++
		case strings.IndexByte("+-*/%^=!<>,", c) >= 0:
			s.pos++
		default:
			return nil, fmt.Errorf("%w: unexpected %q at offset %d", ErrSyntax, c, s.pos)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%w: unbalanced ( in %q", ErrSyntax, expr)
	}
	return out, nil
}

type scanner struct {
	src string
	pos int
}

func (s *scanner) eof() bool  { return s.pos >= len(s.src) }
func (s *scanner) peek() byte { return s.src[s.pos] }

func (s *scanner) skipSpace() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\n', '\r':
			s.pos++
		case '#': // a comment runs to the end of the line
			for !s.eof() && s.peek() != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

// identifier reads a name and decides what it is: a function (followed by "("), a
// keyword (a grouping one takes its label list along), or a metric name, whose
// matchers it reads.
func (s *scanner) identifier() (Selector, bool, error) {
	start := s.pos
	for !s.eof() && isIdentChar(s.peek()) {
		s.pos++
	}
	name := s.src[start:s.pos]
	s.skipSpace()
	next := byte(0)
	if !s.eof() {
		next = s.peek()
	}
	switch {
	case grouping[name]:
		if next == '(' {
			return Selector{}, false, s.skipPast(')')
		}
		return Selector{}, false, nil
	case keywords[name]:
		return Selector{}, false, nil
	case next == '(':
		return Selector{}, false, nil // a function call; its arguments are scanned as usual
	}
	sel := Selector{Metric: name}
	if next == '{' {
		m, err := s.matchers()
		if err != nil {
			return Selector{}, false, fmt.Errorf("%s: %w", name, err)
		}
		sel.Matchers = m
	}
	return sel, true, nil
}

// matchers reads {label op "value", …}.
func (s *scanner) matchers() ([]Matcher, error) {
	s.pos++ // {
	var out []Matcher
	for {
		s.skipSpace()
		if s.eof() {
			return nil, fmt.Errorf("%w: unterminated {", ErrSyntax)
		}
		if s.peek() == '}' {
			s.pos++
			return out, nil
		}
		start := s.pos
		for !s.eof() && isIdentChar(s.peek()) {
			s.pos++
		}
		label := s.src[start:s.pos]
		if label == "" {
			return nil, fmt.Errorf("%w: a label name expected at offset %d", ErrSyntax, s.pos)
		}
		s.skipSpace()
		op := ""
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s.src[s.pos:], o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, fmt.Errorf("%w: an operator expected after %s", ErrSyntax, label)
		}
		s.pos += len(op)
		s.skipSpace()
		if s.eof() {
			return nil, fmt.Errorf("%w: a value expected after %s%s", ErrSyntax, label, op)
		}
		v, err := s.str()
		if err != nil {
			return nil, err
		}
		out = append(out, Matcher{Label: label, Op: op, Value: v})
		s.skipSpace()
		if !s.eof() && s.peek() == ',' {
			s.pos++
		}
	}
}

// str reads a quoted string and returns its content (escapes kept as written).
func (s *scanner) str() (string, error) {
	q := s.peek()
	if q != '"' && q != '\'' && q != '`' {
		return "", fmt.Errorf("%w: a quoted string expected at offset %d", ErrSyntax, s.pos)
	}
	start := s.pos + 1
	for i := start; i < len(s.src); i++ {
		switch s.src[i] {
		case '\\':
			if q != '`' {
				i++
			}
		case q:
			s.pos = i + 1
			return s.src[start:i], nil
		}
	}
	return "", fmt.Errorf("%w: unterminated string at offset %d", ErrSyntax, start-1)
}

// number reads a number or a duration (1e-9, 0.5, 0x1f, 5m, 1h30m).
func (s *scanner) number() {
	for !s.eof() {
		c := s.peek()
		if isIdentChar(c) || c == '.' || (c == '-' || c == '+') && (s.src[s.pos-1] == 'e' || s.src[s.pos-1] == 'E') {
			s.pos++
			continue
		}
		return
	}
}

func (s *scanner) skipPast(end byte) error {
	i := strings.IndexByte(s.src[s.pos:], end)
	if i < 0 {
		return fmt.Errorf("%w: %q not closed", ErrSyntax, end)
	}
	s.pos += i + 1
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }
