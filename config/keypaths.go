package config

import (
	"reflect"
	"strings"
	"time"
	"unicode"
)

// routesPath is the one key whose value is a list of structs. It is set as a whole:
// from YAML, from env BFF_ROUTES (a YAML/JSON flow sequence) or from --set routes=….
const routesPath = "routes"

// providersPath is the other list of structs (oidc.providers), set as a whole like
// routes: from YAML, env BFF_OIDC_PROVIDERS or --set oidc.providers=….
const providersPath = "oidc.providers"

// envPrefix starts every environment variable the configuration reads.
const envPrefix = "BFF_"

// secretPaths are the keys whose values are secrets. Their values never appear in a
// Problem, an error string or a log line; each has a …File twin (see secretFiles).
var secretPaths = map[string]bool{
	"oidc.clientSecret": true,
	"oidc.clientKey":    true,
	"session.keys":      true,
	"session.redisURL":  true,
	// an oidc.providers entry's (isSecretPath drops the index)
	"oidc.providers.clientSecret": true,
	"oidc.providers.clientKey":    true,
}

var durationType = reflect.TypeFor[time.Duration]()

// leaf is one settable key of Config: a scalar, a list of scalars, or the routes list.
type leaf struct {
	Path  string       // key path as users write it, e.g. "oidc.clientSecret"
	Env   string       // EnvName(Path)
	Index []int        // reflect field index from Config
	Type  reflect.Type // the field's type
}

// leaves lists every settable key of Config in struct order, derived from the yaml tags.
// Structs are descended into; Routes ([]Route) is one leaf.
func leaves() []leaf {
	var out []leaf
	walkLeaves(reflect.TypeFor[Config](), "", nil, &out)
	return out
}

func walkLeaves(t reflect.Type, prefix string, index []int, out *[]leaf) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		path := joinPath(prefix, name)
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			walkLeaves(f.Type, path, idx, out)
			continue
		}
		*out = append(*out, leaf{Path: path, Env: EnvName(path), Index: idx, Type: f.Type})
	}
}

// routeKeys lists the keys of one route (the yaml tags of Route), for docs and errors.
func routeKeys() []string { return structKeys(reflect.TypeFor[Route]()) }

// providerKeys lists the keys of one oidc.providers entry (the yaml tags of Provider).
func providerKeys() []string { return structKeys(reflect.TypeFor[Provider]()) }

// structKeys lists the yaml keys of struct type t.
func structKeys(t reflect.Type) []string {
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// yamlName is the key of a struct field: its yaml tag name, "" when it has none or "-".
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// EnvName returns the environment variable that sets the key path: "BFF_" followed by
// the path in upper snake case, a "_" between the path's parts and between the words of
// a camelCase part. An acronym is one word: "oidc.clientID" → "BFF_OIDC_CLIENT_ID",
// "server.publicURL" → "BFF_SERVER_PUBLIC_URL", "session.redisURLFile" →
// "BFF_SESSION_REDIS_URL_FILE". Digits stay with the word before them.
func EnvName(path string) string {
	var b strings.Builder
	b.WriteString(envPrefix)
	for i, part := range strings.Split(path, ".") {
		if i > 0 {
			b.WriteByte('_')
		}
		writeUpperSnake(&b, part)
	}
	return b.String()
}

func writeUpperSnake(b *strings.Builder, s string) {
	r := []rune(s)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && startsWord(r, i) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(c))
	}
}

// startsWord reports whether the upper-case rune r[i] begins a new word: it follows a
// lower-case letter or a digit ("clientSecret"), or it ends an acronym and a lower-case
// letter follows ("URLFile": the F).
func startsWord(r []rune, i int) bool {
	prev := r[i-1]
	if unicode.IsLower(prev) || unicode.IsDigit(prev) {
		return true
	}
	return unicode.IsUpper(prev) && i+1 < len(r) && unicode.IsLower(r[i+1])
}

// isSecretPath reports whether path ("session.keys[2]" and
// "oidc.providers[1].clientSecret" included) holds a secret.
func isSecretPath(path string) bool {
	var b strings.Builder
	for path != "" {
		before, rest, found := strings.Cut(path, "[")
		b.WriteString(before)
		if !found {
			break
		}
		_, path, _ = strings.Cut(rest, "]")
	}
	return secretPaths[b.String()]
}
