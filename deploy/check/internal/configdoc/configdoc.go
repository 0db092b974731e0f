// Package configdoc reads the key tables of docs/configuration.md, the authoritative list
// of the BFF's configuration keys and their BFF_* environment names, so the deployment
// checks can refuse an environment variable that the BFF would silently ignore (a typo
// such as BFF_OIDC_CLIENTID is not an error for the BFF: unknown BFF_* names are skipped).
package configdoc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Entry is one row of a key table: | `key` | `BFF_ENV` | type | default | meaning |.
type Entry struct {
	Key    string // key path, e.g. "oidc.clientSecret"
	Env    string // environment name, e.g. "BFF_OIDC_CLIENT_SECRET"
	Type   string // the Type column, e.g. "string, secret"
	Secret bool   // the Type column says "secret"
}

// ErrNoKeys is returned by Parse when the document holds no key table row.
var ErrNoKeys = errors.New("configdoc: no key table row found")

// Parse returns every row of md's Markdown tables whose first cell is a back-quoted
// key path and whose second cell is a back-quoted BFF_ name, in document order. Other
// tables (syntax, secret files, Redis URLs) and prose are skipped. Two rows for the same
// environment name are an error: the document would be ambiguous.
func Parse(md []byte) ([]Entry, error) {
	var entries []Entry
	seen := make(map[string]int)
	sc := bufio.NewScanner(bytes.NewReader(md))
	for line := 1; sc.Scan(); line++ {
		e, ok := parseRow(sc.Text())
		if !ok {
			continue
		}
		if first, dup := seen[e.Env]; dup {
			return nil, fmt.Errorf("configdoc: line %d: %s already documented on line %d", line, e.Env, first)
		}
		seen[e.Env] = line
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("configdoc: %w", err)
	}
	if len(entries) == 0 {
		return nil, ErrNoKeys
	}
	return entries, nil
}

// EnvIndex maps each environment name of entries to its entry.
func EnvIndex(entries []Entry) map[string]Entry {
	idx := make(map[string]Entry, len(entries))
	for _, e := range entries {
		idx[e.Env] = e
	}
	return idx
}

func parseRow(line string) (Entry, bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return Entry{}, false
	}
	cells := strings.Split(strings.Trim(line, "|"), "|")
	if len(cells) < 3 {
		return Entry{}, false
	}
	key, okKey := quoted(cells[0])
	env, okEnv := quoted(cells[1])
	if !okKey || !okEnv || !strings.HasPrefix(env, "BFF_") || strings.ContainsAny(key, " =") {
		return Entry{}, false
	}
	typ := strings.TrimSpace(cells[2])
	return Entry{Key: key, Env: env, Type: typ, Secret: strings.Contains(typ, "secret")}, true
}

// quoted returns the text of a cell that is exactly one back-quoted code span.
func quoted(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	if len(cell) < 3 || cell[0] != '`' || cell[len(cell)-1] != '`' {
		return "", false
	}
	inner := cell[1 : len(cell)-1]
	if strings.Contains(inner, "`") {
		return "", false
	}
	return inner, true
}
