package chart_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tokenward/bff/deploy/check/internal/repo"
)

// The values table of charts/bff/README.md is values.yaml: one row per key with its
// default, no row for a key that does not exist, and values.yaml and values.schema.json
// agree on which keys there are. A key is what the schema spells out: an object declared
// in place with properties is descended into, anything else — a scalar, a list, a free-form
// map, a value of a shared definition (a probe, a path) — is one key. The `config` subtree
// is the BFF's configuration: its keys set in values.yaml have rows, the rest are in
// docs/configuration.md (TestSchemaMirrorsTheBFFConfiguration keeps the schema's config
// equal to the BFF's).
func TestReadmeValuesTableIsValuesYAML(t *testing.T) {
	root := readSchema(t)
	var values map[string]any
	if err := yaml.Unmarshal(readChartFile(t, "values.yaml"), &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	want := map[string]string{}
	walkValues(t, root, root, values, "", want)

	schemaKeys := map[string]bool{}
	walkSchemaKeys(root, root, "", schemaKeys)
	for _, k := range slices.Sorted(maps.Keys(schemaKeys)) {
		if _, ok := want[k]; !ok {
			t.Errorf("values.schema.json declares %s, which values.yaml does not set: add it to values.yaml with its default (and a README row)", k)
		}
	}

	rows := readmeRows(t)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		got, ok := rows[k]
		if !ok {
			t.Errorf("charts/bff/README.md has no row for %s; add:\n| `%s` | `%s` | … |", k, k, escapeCell(want[k]))
			continue
		}
		if got != want[k] {
			t.Errorf("charts/bff/README.md: %s defaults to `%s` in values.yaml, the table says `%s`", k, want[k], got)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		if _, ok := want[k]; !ok {
			t.Errorf("charts/bff/README.md has a row for %s, which values.yaml does not have: remove or rename it", k)
		}
	}
}

// walkValues records each key of v (see the test) with its default as compact JSON.
func walkValues(t *testing.T, root, node schemaNode, v map[string]any, prefix string, out map[string]string) {
	t.Helper()
	for k, val := range v {
		path := strings.TrimPrefix(prefix+"."+k, ".")
		child, ok := node.Properties[k]
		if !ok {
			t.Errorf("values.yaml sets %s, which values.schema.json does not declare", path)
			continue
		}
		if m, isMap := val.(map[string]any); isMap && len(m) > 0 && child.Ref == "" && child.Properties != nil {
			walkValues(t, root, child, m, path, out)
			continue
		}
		out[path] = compactJSON(t, val)
	}
}

// walkSchemaKeys collects the keys the schema declares outside `config` (the BFF's, see
// the test) and `global` (Helm's, for subcharts).
func walkSchemaKeys(root, node schemaNode, prefix string, out map[string]bool) {
	for k, child := range node.Properties {
		path := strings.TrimPrefix(prefix+"."+k, ".")
		if path == "config" || path == "global" {
			continue
		}
		if child.Ref == "" && child.Properties != nil {
			walkSchemaKeys(root, child, path, out)
			continue
		}
		out[path] = true
	}
}

func compactJSON(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}

// readmeRows reads the rows | `key` | `default` | description | of the README's tables.
func readmeRows(t *testing.T) map[string]string {
	t.Helper()
	rows := map[string]string{}
	for i, line := range strings.Split(string(readChartFile(t, "README.md")), "\n") {
		cells := splitRow(line)
		if len(cells) != 3 {
			continue
		}
		key, okKey := quoted(cells[0])
		def, okDef := quoted(cells[1])
		if !okKey || !okDef {
			continue
		}
		if _, dup := rows[key]; dup {
			t.Errorf("charts/bff/README.md line %d: a second row for %s", i+1, key)
		}
		rows[key] = def
	}
	if len(rows) == 0 {
		t.Fatal("charts/bff/README.md has no values table rows (| `key` | `default` | description |)")
	}
	return rows
}

// splitRow splits a Markdown table row on the pipes that are not escaped (\|).
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
		return nil
	}
	var cells []string
	var cur strings.Builder
	body := line[1 : len(line)-1]
	for i := 0; i < len(body); i++ {
		switch {
		case body[i] == '\\' && i+1 < len(body) && body[i+1] == '|':
			cur.WriteByte('|')
			i++
		case body[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(body[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

func quoted(cell string) (string, bool) {
	if len(cell) < 2 || cell[0] != '`' || cell[len(cell)-1] != '`' {
		return "", false
	}
	return cell[1 : len(cell)-1], true
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func readSchema(t *testing.T) schemaNode {
	t.Helper()
	var root schemaNode
	if err := json.Unmarshal(readChartFile(t, "values.schema.json"), &root); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	return root
}

func readChartFile(t *testing.T, name string) []byte {
	t.Helper()
	path, err := repo.Path("charts/bff/" + name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(fmt.Errorf("read %s: %w", name, err))
	}
	return data
}
