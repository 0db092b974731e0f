package bff

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tokenward/bff"

// layers ranks every package of the module (relative import paths, "" the root): a
// package may import only packages of a LOWER layer (docs/architecture.md, "Packages").
// A new package gets a line here, which is the moment to decide where it belongs.
var layers = map[string]int{
	// 0: leaves — know nothing of the rest.
	"config": 0, "problem": 0, "clientip": 0, "credential": 0, "idp": 0, "session": 0,
	"tracing": 0, "internal/framing": 0, "internal/logbuf": 0, "internal/chromium": 0,
	"internal/testsummary": 0, "internal/wstest": 0, "internal/faults": 0, "spa-demo/demoop": 0,
	"bench/internal/serve": 0, "dpop": 0,
	// 1: rules and engines on top of the leaves; no HTTP responses written here but by csrf's
	// pure check.
	"csrf": 1, "metrics": 1, "ratelimit": 1, "refresh": 1,
	// 2: the HTTP edges: the /bff/* endpoints and the proxy. Neither imports the other.
	"handler": 2, "proxy": 2,
	// 3: the assembly.
	"": 3,
	// 4: programs and whole-flow harnesses built on the assembly.
	"cmd/bff": 4, "spa-demo": 4, "internal/testenv": 4, "e2e": 4,
	"bench/bffprof": 4, "bench/harness": 4, "bench/plainproxy": 4, "bench/upstream": 4,
}

// onlyImports narrows what a package may import of the module beyond the layer rule: the
// CLI talks to the assembly (and config, which it loads) and nothing past it.
var onlyImports = map[string][]string{
	"cmd/bff": {"", "config", "spa-demo"},
}

// sameLayer are the imports allowed within one layer.
var sameLayer = map[[2]string]bool{
	{"cmd/bff", "spa-demo"}: true, // `bff demo` runs the demo
	// dpop is a leaf of leaves: the relying party signs its token requests, and the
	// credential its upstream requests, with a session's DPoP key.
	{"idp", "dpop"}: true, {"credential", "dpop"}: true,
}

// TestImportsFollowTheLayers: `go list` shows no import against the layers, so the
// seams stay where docs/architecture.md draws them (the handler never imports the proxy,
// the proxy never reads config, refresh never speaks HTTP, the CLI talks to the assembly).
func TestImportsFollowTheLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := rel(fields[0])
		from, ok := layers[pkg]
		if !ok {
			t.Errorf("package %q has no layer: add it to layers in layers_test.go and docs/architecture.md", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if only, ok := onlyImports[pkg]; ok && !slices.Contains(only, rel(imp)) {
				t.Errorf("%q imports %q: it may import only %q of the module", pkg, rel(imp), only)
				continue
			}
			to, ok := layers[rel(imp)]
			if ok && (to < from || sameLayer[[2]string{pkg, rel(imp)}]) {
				continue
			}
			t.Errorf("%q (layer %d) imports %q (layer %d): against the layers", pkg, from, rel(imp), to)
		}
	}
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}
