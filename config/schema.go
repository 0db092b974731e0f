package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// SchemaID is where the published schema lives: the $id of Schema and the URL the
// examples' `# yaml-language-server: $schema=` header names.
const SchemaID = "https://raw.githubusercontent.com/tokenward/bff/main/config/bff.schema.json"

// durationPattern is what time.ParseDuration accepts, as the YAML file writes it: 30s,
// 1h30m, 0.5s, 0 (never a bare number but 0: YAML durations are strings).
const durationPattern = `^(0|[0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h)([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))*)$`

// schemaEnums are the keys whose value is one of a list: the validators' own lists, so
// the schema cannot drift from Validate ("" included where Validate accepts it).
var schemaEnums = map[string][]string{
	"oidc.tokenEndpointAuth":       tokenEndpointAuths,
	"oidc.dpopAlgorithm":           dpopAlgorithms,
	"oidc.clientAssertionAudience": assertionAudiences,
	"session.store":                sessionStores,
	"session.sameSite":             sameSites,
	"routes[].auth":                routeAuths,
	"log.format":                   logFormats,
	"log.level":                    logLevels,
}

// schemaRequiredRouteKeys are the keys every route must have (validate_routes.go).
var schemaRequiredRouteKeys = []string{"path", "upstream"}

// Schema returns the JSON Schema (draft 2020-12) of the YAML configuration file,
// derived from Config's yaml tags and types, Defaults, Route.WithDefaults and the
// validators' value lists; config/bff.schema.json is this output (a test keeps them
// equal). It describes a file's shape: which keys exist, their types, enums and
// defaults. Required keys are not required by the schema because the environment may
// supply them; Validate stays the judge of values.
func Schema() []byte {
	root := schemaObject(reflect.TypeFor[Config](), reflect.ValueOf(Defaults()), "")
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "Tokenward BFF configuration (bff.yaml)"
	root["description"] = "Every key of bff.yaml; see docs/configuration.md. Values are checked by `bff check`."
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic(fmt.Sprintf("config: encode the schema: %v", err)) // only maps, strings, numbers
	}
	return buf.Bytes()
}

// schemaObject describes struct type t; defaults holds each field's default (the zero
// value when it has none).
func schemaObject(t reflect.Type, defaults reflect.Value, prefix string) map[string]any {
	props := map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		props[name] = schemaValue(f.Type, defaults.Field(i), joinPath(prefix, name))
	}
	return map[string]any{"type": nullable("object"), "properties": props, "additionalProperties": false}
}

// nullable lets a key be present with no value (`key:`), which keeps its default.
func nullable(typ string) []string { return []string{typ, "null"} }

// schemaValue describes one key of type t at path with default def.
func schemaValue(t reflect.Type, def reflect.Value, path string) map[string]any {
	if path == routesPath {
		item := schemaObject(reflect.TypeFor[Route](), reflect.ValueOf(Route{}.WithDefaults()), "routes[]")
		item["type"] = "object" // a route is never empty: it needs path and upstream
		item["required"] = schemaRequiredRouteKeys
		delete(item["properties"].(map[string]any)["name"].(map[string]any), "default") // the path
		return map[string]any{"type": nullable("array"), "items": item}
	}
	if path == providersPath {
		item := schemaObject(reflect.TypeFor[Provider](), reflect.ValueOf(Provider{}), "oidc.providers[]")
		item["type"] = "object"
		item["required"] = []string{"name"}
		return map[string]any{"type": nullable("array"), "items": item}
	}
	if t.Kind() == reflect.Pointer { // *bool, *int: set or not, the default applies when not
		t, def = t.Elem(), def.Elem()
	}
	var s map[string]any
	switch {
	case t == durationType:
		s = map[string]any{"type": nullable("string"), "pattern": durationPattern}
	case t.Kind() == reflect.Struct:
		return schemaObject(t, def, path)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		s = map[string]any{"type": nullable("array"), "items": map[string]any{"type": "string"}}
	case t.Kind() == reflect.String:
		s = map[string]any{"type": nullable("string")}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": nullable("boolean")}
	case t.Kind() == reflect.Int:
		s = map[string]any{"type": nullable("integer")}
	default:
		panic(fmt.Sprintf("config: no schema for %s (%s): add a case to schemaValue", path, t))
	}
	// a provider entry's key takes the values of the oidc block's
	if enum, ok := schemaEnums[strings.Replace(path, "oidc.providers[].", "oidc.", 1)]; ok {
		s["enum"] = append(stringsToAny(enum), nil) // nil: `key:` keeps the default
	}
	if def.IsValid() && !def.IsZero() {
		s["default"] = schemaDefault(def)
	}
	return s
}

// schemaDefault is a default as the YAML file writes it (durations as 30s, not ns).
func schemaDefault(v reflect.Value) any {
	if d, ok := v.Interface().(time.Duration); ok {
		return d.String()
	}
	return v.Interface()
}

func stringsToAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
