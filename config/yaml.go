package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// maxAliasHops bounds how many aliases one value may chain through.
const maxAliasHops = 16

// decodeYAML decodes one YAML document into c, strictly: an unknown key, a duplicate
// key or a value of the wrong shape is a Problem naming the key path and the line, and
// every such problem is reported, not just the first. Keys absent from the document, or
// present with an empty (null) value, keep the value c already holds. A syntax error,
// or a second document in the stream, is returned as an error.
func decodeYAML(c *Config, data []byte, ps *problems) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: nothing to overlay
		}
		return fmt.Errorf("parse YAML: %w", err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return errors.New("parse YAML: the file holds more than one document")
	}
	if len(doc.Content) > 0 {
		decodeNode(doc.Content[0], reflect.ValueOf(c).Elem(), "", ps)
	}
	return nil
}

// decodeNode decodes n into the addressable v, whose key path is path.
func decodeNode(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	n, ok := resolveAlias(n, path, ps)
	if !ok || isNull(n) {
		return
	}
	switch {
	case v.Kind() == reflect.Struct:
		decodeMapping(n, v, path, ps)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		decodeStructList(n, v, path, ps)
	case v.Kind() == reflect.Slice:
		decodeScalarList(n, v, path, ps)
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if decodeScalar(n, elem.Elem(), path, ps) {
			v.Set(elem)
		}
	default:
		decodeScalar(n, v, path, ps)
	}
}

// decodeMapping decodes a mapping into a struct by yaml tag. Merge keys (<<) are
// applied first, so the mapping's own keys override what they merge in.
func decodeMapping(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	if n.Kind != yaml.MappingNode {
		ps.add(orRoot(path), "line %d: want a mapping of keys, got %s", n.Line, kindName(n))
		return
	}
	fields := make(map[string]int)
	names := make([]string, 0, v.NumField())
	for i := range v.NumField() {
		if name := yamlName(v.Type().Field(i)); name != "" {
			fields[name] = i
			names = append(names, name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			decodeMerge(n.Content[i+1], v, path, ps)
		}
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		keyPath := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			ps.add(keyPath, "line %d: duplicate key (first at line %d)", k.Line, first)
			continue
		}
		seen[k.Value] = k.Line
		idx, known := fields[k.Value]
		if !known {
			ps.add(keyPath, "line %d: unknown key%s", k.Line, suggest(k.Value, names))
			continue
		}
		decodeNode(val, v.Field(idx), keyPath, ps)
	}
}

// decodeMerge applies the value of a merge key: a mapping, an alias of one, or a
// sequence of those.
func decodeMerge(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	n, ok := resolveAlias(n, path, ps)
	if !ok {
		return
	}
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			decodeNode(item, v, path, ps)
		}
		return
	}
	decodeNode(n, v, path, ps)
}

func decodeStructList(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	if n.Kind != yaml.SequenceNode {
		ps.add(path, "line %d: want a list, got %s", n.Line, kindName(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		decodeNode(item, list.Index(i), indexPath(path, i), ps)
	}
	v.Set(list)
}

func decodeScalarList(n *yaml.Node, v reflect.Value, path string, ps *problems) {
	if n.Kind != yaml.SequenceNode {
		ps.add(path, "line %d: want a list, got %s", n.Line, kindName(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		elem := reflect.New(v.Type().Elem()).Elem()
		if decodeScalar(item, elem, indexPath(path, i), ps) {
			list = reflect.Append(list, elem)
		}
	}
	v.Set(list)
}

// decodeScalar decodes one scalar with yaml.v3's own conversions (durations as Go
// strings like 30s, never bare integers). The message of a failure quotes the value only
// when the key is not a secret.
func decodeScalar(n *yaml.Node, v reflect.Value, path string, ps *problems) bool {
	n, ok := resolveAlias(n, path, ps)
	if !ok {
		return false
	}
	if n.Kind != yaml.ScalarNode {
		ps.add(path, "line %d: want a single value, got %s", n.Line, kindName(n))
		return false
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		if isSecretPath(path) {
			ps.add(path, "line %d: not a valid %s", n.Line, typeName(v.Type()))
		} else {
			ps.add(path, "line %d: %s is not a valid %s", n.Line, quoteShort(n.Value), typeName(v.Type()))
		}
		return false
	}
	return true
}

// resolveAlias follows alias nodes to the anchored value, at most maxAliasHops deep.
func resolveAlias(n *yaml.Node, path string, ps *problems) (*yaml.Node, bool) {
	for range maxAliasHops {
		if n.Kind != yaml.AliasNode {
			return n, true
		}
		if n.Alias == nil {
			break
		}
		n = n.Alias
	}
	ps.add(orRoot(path), "line %d: alias chain too long or broken", n.Line)
	return nil, false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration in Go syntax (e.g. 30s, 15m, 12h)"
	case t.Kind() == reflect.Bool:
		return "boolean (true or false)"
	case t.Kind() == reflect.Int:
		return "integer"
	default:
		return t.String()
	}
}

// quoteShort quotes a (non-secret) value, cut to 40 bytes so a message stays one line.
func quoteShort(s string) string {
	const maxShown = 40
	if len(s) > maxShown {
		return fmt.Sprintf("%q…", s[:maxShown])
	}
	return fmt.Sprintf("%q", s)
}

// orRoot names the document root in a Problem.
func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}
