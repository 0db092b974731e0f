package config

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const schemaFile = "bff.schema.json"

// schemaHeader starts every example bff.yaml in the repository, so editors with the
// YAML language server complete and check its keys.
const schemaHeader = "# yaml-language-server: $schema=" + SchemaID

// TestSchemaFileIsCurrent keeps the committed config/bff.schema.json (what editors load
// from SchemaID) equal to Schema(). BFF_UPDATE_SCHEMA=1 rewrites it.
func TestSchemaFileIsCurrent(t *testing.T) {
	want := Schema()
	if os.Getenv("BFF_UPDATE_SCHEMA") == "1" {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("read the committed schema: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config/%s differs from config.Schema(): run BFF_UPDATE_SCHEMA=1 go test ./config -run TestSchemaFileIsCurrent and commit it", schemaFile)
	}
}

// schemaKeys returns every key path the schema describes, routes' keys as routes[].key.
func schemaKeys(t *testing.T, node map[string]any, prefix string, out *[]string) {
	t.Helper()
	props, _ := node["properties"].(map[string]any)
	for name, v := range props {
		child := v.(map[string]any)
		path := joinPath(prefix, name)
		switch {
		case child["properties"] != nil:
			schemaKeys(t, child, path, out)
		case path == routesPath || path == providersPath:
			*out = append(*out, path)
			schemaKeys(t, child["items"].(map[string]any), path+"[]", out)
		default:
			*out = append(*out, path)
		}
	}
}

func decodeSchema(t *testing.T) map[string]any {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	return root
}

// TestSchemaHasEveryKey: every key of Config (and of a route) is in the schema and the
// schema has no other, and every level refuses unknown keys as Load does.
func TestSchemaHasEveryKey(t *testing.T) {
	var want []string
	for _, l := range leaves() {
		want = append(want, l.Path)
	}
	var route []leaf
	walkLeaves(reflect.TypeFor[Route](), "routes[]", nil, &route)
	for _, l := range route {
		want = append(want, l.Path)
	}
	var provider []leaf
	walkLeaves(reflect.TypeFor[Provider](), "oidc.providers[]", nil, &provider)
	for _, l := range provider {
		want = append(want, l.Path)
	}
	var got []string
	schemaKeys(t, decodeSchema(t), "", &got)
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("schema keys:\n  %v\nconfig keys:\n  %v", got, want)
	}
	if !strings.Contains(string(Schema()), `"additionalProperties": false`) {
		t.Error("the schema accepts unknown keys; Load refuses them")
	}
}

// TestSchemaEnumsAreTheValidatorsLists: every []string list declared in validate.go
// (the values a key may take) is the enum of a key in the schema, so a new list, or a
// new value in one, reaches the schema.
func TestSchemaEnumsAreTheValidatorsLists(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "validate.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lists []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			for i, v := range spec.(*ast.ValueSpec).Values {
				if c, ok := v.(*ast.CompositeLit); ok {
					if at, ok := c.Type.(*ast.ArrayType); ok && at.Len == nil {
						if id, ok := at.Elt.(*ast.Ident); ok && id.Name == "string" {
							lists = append(lists, spec.(*ast.ValueSpec).Names[i].Name)
						}
					}
				}
			}
		}
	}
	if len(lists) == 0 {
		t.Fatal("found no []string lists in validate.go: has the file moved?")
	}
	if len(lists) != len(schemaEnums) {
		t.Errorf("validate.go declares %d value lists %v, the schema has %d enums: add the new one to schemaEnums", len(lists), lists, len(schemaEnums))
	}
	root := decodeSchema(t)
	for path, enum := range schemaEnums {
		node := root
		for part := range strings.SplitSeq(strings.Replace(path, "routes[]", "routes.items", 1), ".") {
			if part == "items" {
				node = node["items"].(map[string]any)
				continue
			}
			node = node["properties"].(map[string]any)[part].(map[string]any)
		}
		var got []string
		for _, v := range node["enum"].([]any) {
			if v != nil { // `key:`, the default
				got = append(got, v.(string))
			}
		}
		if !slices.Equal(got, enum) {
			t.Errorf("%s: schema enum %q, validator list %q", path, got, enum)
		}
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaFile, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatalf("not a valid draft 2020-12 schema: %v", err)
	}
	return s
}

// validateYAML checks one YAML document against the schema, as an editor would.
func validateYAML(s *jsonschema.Schema, doc string) error {
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		return err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func TestSchemaJudgesFiles(t *testing.T) {
	s := compileSchema(t)
	tests := []struct {
		name  string
		yaml  string
		valid bool
	}{
		{name: "empty", yaml: "{}", valid: true},
		{name: "keys without a value keep their defaults", yaml: "server:\n  listen:\nlog:\n  level:\nroutes:\nspa:\n", valid: true},
		{name: "a route without a value", yaml: "routes: [~]"},
		{name: "durations", yaml: "session: { idleTimeout: 1h30m, cacheTTL: \"0\", loginTimeout: 0.5s }", valid: true},
		{name: "a route with its keys", yaml: "routes: [{ path: /api/, upstream: http://127.0.0.1:9000, auth: optional, retryOn401: false, maxRequestBody: 0, methods: [GET], identityHeaders: { user: X-User } }]", valid: true},
		{name: "embedded store spelled empty", yaml: `session: { store: "" }`, valid: true},
		{name: "unknown top-level key", yaml: "sevrer: {}"},
		{name: "unknown nested key", yaml: "oidc: { clientSecrt: x }"},
		{name: "unknown route key", yaml: "routes: [{ path: /api/, upstream: http://a, strip: /api }]"},
		{name: "route without upstream", yaml: "routes: [{ path: /api/ }]"},
		{name: "enum", yaml: "session: { sameSite: none }"},
		{name: "enum is case-sensitive", yaml: "log: { level: INFO }"},
		{name: "bare integer duration", yaml: "server: { shutdownTimeout: 15 }"},
		{name: "duration without unit", yaml: "server: { shutdownTimeout: \"15\" }"},
		{name: "string for a bool", yaml: "server: { forwardAuth: \"yes\" }"},
		{name: "scalar for a list", yaml: "oidc: { scopes: openid }"},
		{name: "string for an int", yaml: "rateLimit: { burst: many }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateYAML(s, tt.yaml)
			if tt.valid && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.valid && err == nil {
				t.Error("accepted")
			}
		})
	}
}

// exampleConfigs returns the bff.yaml examples in the repository's docs: ```yaml blocks
// and heredocs (<<'YAML') in README.md and docs/, keyed by file:line, and whether each
// starts with schemaHeader. A block counts as a bff.yaml when it has an oidc or server
// key at the top.
func exampleConfigs(t *testing.T) map[string]struct {
	body   string
	header bool
} {
	t.Helper()
	files := []string{"../README.md"}
	err := filepath.WalkDir("../docs", func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		body   string
		header bool
	}{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			end := ""
			switch l := strings.TrimSpace(lines[i]); {
			case l == "```yaml":
				end = "```"
			case strings.HasSuffix(l, "<<'YAML'"):
				end = "YAML"
			default:
				continue
			}
			start := i + 1
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != end; i++ {
			}
			body := strings.Join(lines[start:min(i, len(lines))], "\n")
			if !isBFFConfig(body) {
				continue
			}
			out[filepath.Base(f)+":"+strconv.Itoa(start+1)] = struct {
				body   string
				header bool
			}{body, strings.HasPrefix(body, schemaHeader+"\n")}
		}
	}
	return out
}

func isBFFConfig(doc string) bool {
	var top map[string]any
	if yaml.Unmarshal([]byte(doc), &top) != nil {
		return false
	}
	_, oidc := top["oidc"]
	_, server := top["server"]
	return oidc || server
}

// TestExampleConfigsFollowTheSchema: every bff.yaml example in the docs carries the
// yaml-language-server header and validates against the schema.
func TestExampleConfigsFollowTheSchema(t *testing.T) {
	s := compileSchema(t)
	examples := exampleConfigs(t)
	if len(examples) < 2 {
		t.Fatalf("found %d example configurations in README.md and docs/, want the README's and configuration.md's at least", len(examples))
	}
	for where, ex := range examples {
		if !ex.header {
			t.Errorf("%s: a bff.yaml example without the first line %q", where, schemaHeader)
		}
		if err := validateYAML(s, ex.body); err != nil {
			t.Errorf("%s: does not follow the schema: %v", where, err)
		}
	}
}
