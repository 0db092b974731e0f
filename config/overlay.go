package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// overlayEnv sets every leaf whose BFF_* variable is present and non-empty in env
// ("KEY=value" strings, as os.Environ returns them). An empty variable counts as unset,
// so a blank value rendered by a template never erases the file's value. Variables
// with the prefix that name no key are ignored: Kubernetes injects BFF_SERVICE_HOST
// and friends for a Service named bff.
func overlayEnv(c *Config, env []string, ps *problems) {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, envPrefix) {
			vars[k] = v // the last occurrence wins, as with getenv
		}
	}
	for _, l := range leaves() {
		if raw := vars[l.Env]; raw != "" {
			setLeaf(c, l, raw, "env "+l.Env, ps)
		}
	}
}

// overlaySet sets the leaves named by set (key path → value, from --set flags). Unlike
// the environment, an empty value is applied: it clears a string or a list.
func overlaySet(c *Config, set map[string]string, ps *problems) {
	byPath := make(map[string]leaf)
	for _, l := range leaves() {
		byPath[l.Path] = l
	}
	for _, path := range slices.Sorted(maps.Keys(set)) {
		l, ok := byPath[path]
		if !ok {
			ps.add(path, "unknown key in --set%s", suggest(path, slices.Collect(maps.Keys(byPath))))
			continue
		}
		setLeaf(c, l, set[path], "--set "+path, ps)
	}
}

// setLeaf parses raw in the env/--set syntax (lists comma-separated, durations in Go
// syntax, bools as strconv.ParseBool, routes as a YAML/JSON flow sequence) into the
// field of c that l names. A failure adds a Problem; the value is quoted only when the
// key is not a secret.
func setLeaf(c *Config, l leaf, raw, source string, ps *problems) {
	field := reflect.ValueOf(c).Elem().FieldByIndex(l.Index)
	if l.Path == routesPath || l.Path == providersPath {
		setStructList(field, l.Path, raw, source, ps)
		return
	}
	if err := parseScalar(field, raw); err != nil {
		shown := ""
		if !secretPaths[l.Path] {
			shown = fmt.Sprintf(" %q", raw)
		}
		ps.add(l.Path, "%s:%s %v", source, shown, err)
	}
}

// parseScalar sets v (a string, bool, int, time.Duration or []string) from raw.
func parseScalar(v reflect.Value, raw string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("is not a duration in Go syntax (e.g. 30s, 15m, 12h)")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("is not a boolean (true or false)")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("is not an integer")
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		v.Set(reflect.ValueOf(splitList(raw)))
	default:
		return fmt.Errorf("cannot be set from a string (type %s)", v.Type())
	}
	return nil
}

// splitList splits a comma-separated list, trimming spaces and dropping empty items.
func splitList(raw string) []string {
	var out []string
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// setStructList decodes a YAML (or JSON) flow sequence of routes or providers (the list
// at path), as strictly as the file. A syntax error is not quoted: a provider may hold
// a secret.
func setStructList(field reflect.Value, path, raw, source string, ps *problems) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		ps.add(path, "%s: not a YAML/JSON sequence of %s", source, path)
		return
	}
	if len(doc.Content) == 0 { // an empty value (--set routes=) clears the list
		field.Set(reflect.Zero(field.Type()))
		return
	}
	routes := reflect.New(field.Type()).Elem()
	var sub problems
	decodeNode(doc.Content[0], routes, path, &sub)
	for _, p := range sub {
		ps.add(p.Path, "%s: %s", source, p.Message)
	}
	if len(sub) == 0 {
		field.Set(routes)
	}
}

// suggest returns ` (did you mean "x"?)` when a known key differs from key only in
// case, else "".
func suggest(key string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}
