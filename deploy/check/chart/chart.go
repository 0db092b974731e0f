// Package chart checks the Helm chart in charts/bff.
//
// scripts/helm-check lints the chart and renders it with `helm template` — its default
// values and every file of charts/bff/examples — into a directory, then runs these tests
// with three variables: TOKENWARD_CHART_RENDERED (that directory), TOKENWARD_HELM (the
// helm binary) and TOKENWARD_CHART_DIR (the chart). The tests decode every rendered
// manifest strictly into the Kubernetes API types (package manifest), check what a
// cluster would run — security contexts, probes, ports, secrets, rollouts — load each
// rendered ConfigMap with the BFF's own config package, and render more variants through
// the helm binary to exercise the chart's refusals and its checksum annotation. They also
// check the opt-in Gateway API and forward-auth wiring, the alerts (against a real
// metrics registry and docs/operations.md), the `helm test` Pod and its script, and that
// charts/bff/README.md's values table is values.yaml.
//
// Without those variables (plain `go test ./...`) the tests skip, except under CI=true,
// where a skipped chart check would hide a broken chart: there they fail.
package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tokenward/bff/deploy/check/internal/manifest"
)

// Environment variables set by scripts/helm-check.
const (
	EnvRendered = "TOKENWARD_CHART_RENDERED"
	EnvHelm     = "TOKENWARD_HELM"
	EnvChartDir = "TOKENWARD_CHART_DIR"
)

// ErrNotConfigured is returned when the environment of scripts/helm-check is missing.
var ErrNotConfigured = errors.New("chart: run through scripts/helm-check (" + EnvRendered + ", " + EnvHelm + " and " + EnvChartDir + " are not all set)")

// ErrRender is returned (wrapped) when helm refuses to render; its message is helm's.
var ErrRender = errors.New("helm template failed")

// Rendering is one `helm template` output, decoded.
type Rendering struct {
	Name    string // file name: default.yaml, or the example's
	Objects []manifest.Object
}

// Rendered decodes every *.yaml file of dir, sorted by name.
func Rendered(dir string) ([]Rendering, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	slices.Sort(files)
	var out []Rendering
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		objs, err := manifest.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", filepath.Base(f), err)
		}
		out = append(out, Rendering{Name: filepath.Base(f), Objects: objs})
	}
	return out, nil
}

// Helm runs `helm template` on the chart.
type Helm struct {
	Bin   string // the helm binary
	Chart string // the chart directory
	// Timeout bounds one run; 0 means one minute.
	Timeout time.Duration
}

// FromEnv returns the Helm of scripts/helm-check's environment.
func FromEnv() (Helm, error) {
	h := Helm{Bin: os.Getenv(EnvHelm), Chart: os.Getenv(EnvChartDir)}
	if h.Bin == "" || h.Chart == "" || os.Getenv(EnvRendered) == "" {
		return Helm{}, ErrNotConfigured
	}
	return h, nil
}

// Template renders the chart as release "tokenward" in namespace "tokenward" with extra
// helm arguments (e.g. "--set", "replicaCount=3") and decodes the result. When helm
// refuses, the error wraps ErrRender and carries helm's message (its stderr) — never the
// rendered output, which may hold a Secret.
func (h Helm) Template(ctx context.Context, args ...string) ([]manifest.Object, error) {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Bin, append([]string{"template", "tokenward", h.Chart, "--namespace", "tokenward"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %w: %s", ErrRender, err, strings.TrimSpace(stderr.String()))
	}
	objs, err := manifest.Decode(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	return objs, nil
}
