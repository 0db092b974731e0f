package config

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const docPath = "../docs/configuration.md"

// docRows returns the table rows of the configuration reference keyed by their first
// cell (backticks removed); each row is its trimmed cells. It also returns the text.
func docRows(t *testing.T) (map[string][]string, string) {
	t.Helper()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("read the configuration reference: %v", err)
	}
	rows := map[string][]string{}
	for line := range strings.Lines(string(data)) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		if key := strings.Trim(cells[0], "`"); rows[key] == nil {
			rows[key] = cells // the first table naming a key is its reference row
		}
	}
	return rows, string(data)
}

var backticked = regexp.MustCompile("`([^`]*)`")

// docDefault returns the literal of a Default cell (its first `code` span) or "" with
// ok=false when the cell states no value (—, *required*, the path).
func docDefault(cell string) (string, bool) {
	m := backticked.FindStringSubmatch(cell)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// TestDocsListEveryKey keeps docs/configuration.md in step with Config: every key path,
// its env name and its default must be in the reference.
func TestDocsListEveryKey(t *testing.T) {
	rows, _ := docRows(t)
	defaults := reflect.ValueOf(Defaults())
	for _, l := range leaves() {
		cells, ok := rows[l.Path]
		if !ok {
			t.Errorf("docs/configuration.md has no row for %s", l.Path)
			continue
		}
		if len(cells) != 5 {
			t.Errorf("row of %s has %d cells, want 5 (key, env, type, default, meaning)", l.Path, len(cells))
			continue
		}
		if cells[1] != "`"+l.Env+"`" {
			t.Errorf("row of %s names env %s, want `%s`", l.Path, cells[1], l.Env)
		}
		checkDocDefault(t, l.Path, cells[3], defaults.FieldByIndex(l.Index))
	}
	route := reflect.ValueOf(Route{}.WithDefaults())
	for i, key := range routeKeys() {
		path := "routes[]." + key
		cells, ok := rows[path]
		if !ok {
			t.Errorf("docs/configuration.md has no row for %s", path)
			continue
		}
		if key != "name" { // its default is the path, stated in words
			checkDocDefault(t, path, cells[2], route.Field(i))
		}
	}
	for _, key := range providerKeys() {
		if _, ok := rows["oidc.providers[]."+key]; !ok {
			t.Errorf("docs/configuration.md has no row for oidc.providers[].%s", key)
		}
	}
}

func checkDocDefault(t *testing.T, path, cell string, want reflect.Value) {
	t.Helper()
	if want.Kind() == reflect.Pointer {
		want = want.Elem()
	}
	lit, stated := docDefault(cell)
	if !stated {
		if !want.IsZero() {
			t.Errorf("%s: the docs state no default, the code has %v", path, want.Interface())
		}
		return
	}
	var got string
	switch {
	case want.Type() == durationType:
		d, err := time.ParseDuration(lit)
		if err != nil || d != want.Interface().(time.Duration) {
			t.Errorf("%s: the docs say default %q, the code has %v", path, lit, want.Interface())
		}
		return
	case want.Kind() == reflect.Slice:
		got = strings.Join(want.Interface().([]string), ", ")
	case want.Kind() == reflect.Bool:
		got = strconv.FormatBool(want.Bool())
	case want.Kind() == reflect.Int:
		got = strconv.Itoa(int(want.Int()))
	default:
		got = want.String()
	}
	if lit != got {
		t.Errorf("%s: the docs say default %q, the code has %q", path, lit, got)
	}
}

// TestDocsExampleIsValid loads the reference's complete example, its secret files
// replaced by real ones, and validates it.
func TestDocsExampleIsValid(t *testing.T) {
	block := docYAMLBlock(t, "## A complete example")
	for file, content := range map[string]string{
		"/run/secrets/oidc-client-secret": "client-secret\n",
		"/run/secrets/redis-url":          "rediss://:pw@redis:6380/0\n",
		"/run/secrets/bff-keys":           "# newest first\n" + testKey1 + "\n" + testKey2 + "\n",
	} {
		if !strings.Contains(block, file) {
			t.Fatalf("the example no longer mentions %s: update this test", file)
		}
		block = strings.ReplaceAll(block, file, writeFile(t, "secret", content))
	}
	c, err := Load(Source{File: writeFile(t, "bff.yaml", block)})
	if err != nil {
		t.Fatalf("the documented example does not load: %v", err)
	}
	if err := Validate(c); err != nil {
		t.Fatalf("the documented example does not validate: %v", err)
	}
	if len(c.Routes) != 2 || c.Session.Store != "redis" {
		t.Errorf("unexpected example config: %+v", c)
	}
}
