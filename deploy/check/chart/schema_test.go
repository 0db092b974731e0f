package chart_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/deploy/check/internal/repo"
)

// Keys of the BFF's configuration that the chart sets itself (from `ports` and the
// secret mount), and the secrets, which must never be chart values of the ConfigMap.
var (
	chartOwnedKeys = []string{"server.listen", "server.adminListen", "server.adminTokenFile", "oidc.clientSecretFile", "oidc.clientKeyFile", "oidc.clientCertFile", "session.keysFile", "session.redisURLFile"}
	secretKeys     = []string{"oidc.clientSecret", "oidc.clientKey", "session.keys", "session.redisURL", "oidc.providers[].clientSecret", "oidc.providers[].clientKey"}
)

// schemaNode is the part of a JSON schema this test walks.
type schemaNode struct {
	Ref                  string                `json:"$ref"`
	Type                 any                   `json:"type"`
	Properties           map[string]schemaNode `json:"properties"`
	Items                *schemaNode           `json:"items"`
	AdditionalProperties any                   `json:"additionalProperties"`
	Definitions          map[string]schemaNode `json:"definitions"`
}

// values.schema.json's `config` must offer every key of the BFF's Config struct except
// the chart-owned ones and the secrets, and nothing else: a new BFF key shows up here,
// and a secret can never be put in the ConfigMap through values.
func TestSchemaMirrorsTheBFFConfiguration(t *testing.T) {
	path, err := repo.Path("charts/bff/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root schemaNode
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	var schemaKeys []string
	walkSchema(t, root, root.Properties["config"], "", &schemaKeys)
	slices.Sort(schemaKeys)

	var want []string
	walkConfig(reflect.TypeFor[config.Config](), "", &want)
	want = slices.DeleteFunc(want, func(k string) bool {
		return slices.Contains(chartOwnedKeys, k) || slices.Contains(secretKeys, k)
	})
	slices.Sort(want)

	for _, k := range want {
		if !slices.Contains(schemaKeys, k) {
			t.Errorf("config key %s is missing from values.schema.json", k)
		}
	}
	for _, k := range schemaKeys {
		if !slices.Contains(want, k) {
			t.Errorf("values.schema.json offers config.%s, which is not a key the chart's users may set", k)
		}
	}
}

// walkSchema collects the leaf key paths of an object schema; every object on the way
// must refuse unknown properties.
func walkSchema(t *testing.T, root, n schemaNode, prefix string, keys *[]string) {
	t.Helper()
	n = resolve(t, root, n)
	if n.Items != nil {
		if item := resolve(t, root, *n.Items); item.Properties != nil {
			walkSchema(t, root, item, prefix+"[]", keys) // a list of objects: routes[].path
			return
		}
		*keys = append(*keys, prefix) // a list of scalars is one key
		return
	}
	if n.Properties == nil {
		*keys = append(*keys, prefix)
		return
	}
	if n.AdditionalProperties != false {
		t.Errorf("config%s: the schema accepts unknown keys (additionalProperties is not false)", strings.TrimSuffix("."+prefix, "."))
	}
	for name, child := range n.Properties {
		walkSchema(t, root, child, strings.TrimPrefix(prefix+"."+name, "."), keys)
	}
}

func resolve(t *testing.T, root, n schemaNode) schemaNode {
	t.Helper()
	if n.Ref == "" {
		return n
	}
	name, ok := strings.CutPrefix(n.Ref, "#/definitions/")
	def, found := root.Definitions[name]
	if !ok || !found {
		t.Fatalf("unresolvable $ref %s", n.Ref)
	}
	return def
}

// walkConfig collects the key paths of the Config struct from its yaml tags, as
// docs/configuration.md spells them (routes[].path for list items).
func walkConfig(typ reflect.Type, prefix string, keys *[]string) {
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			walkConfig(ft.Elem(), path+"[]", keys)
			continue
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
			walkConfig(ft, path, keys)
			continue
		}
		*keys = append(*keys, path)
	}
}
