package chart_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tokenward/bff/deploy/check/internal/testsecret"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/deploy/check/chart"
	"github.com/tokenward/bff/deploy/check/internal/manifest"
)

// skipOrFail skips a chart test outside scripts/helm-check, except under CI=true, where
// a skipped chart check would hide a broken chart.
func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
}

// renderings are the outputs of scripts/helm-check: default.yaml and one per example.
func renderings(t *testing.T) []chart.Rendering {
	t.Helper()
	dir := os.Getenv(chart.EnvRendered)
	if dir == "" {
		skipOrFail(t, chart.ErrNotConfigured)
	}
	rs, err := chart.Rendered(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"default.yaml"}
	examples, err := filepath.Glob(filepath.Join(chartDir(t), "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		want = append(want, filepath.Base(e))
	}
	have := map[string]bool{}
	for _, r := range rs {
		have[r.Name] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Fatalf("%s was not rendered into %s", w, dir)
		}
	}
	return rs
}

func rendering(t *testing.T, name string) chart.Rendering {
	t.Helper()
	for _, r := range renderings(t) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rendering %s", name)
	return chart.Rendering{}
}

func chartDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(chart.EnvChartDir)
	if dir == "" {
		skipOrFail(t, chart.ErrNotConfigured)
	}
	return dir
}

func helm(t *testing.T) chart.Helm {
	t.Helper()
	h, err := chart.FromEnv()
	if err != nil {
		skipOrFail(t, err)
	}
	return h
}

// template renders the chart with extra helm arguments and fails the test if helm refuses.
func template(t *testing.T, args ...string) []manifest.Object {
	t.Helper()
	objs, err := helm(t).Template(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// templateErr renders the chart and returns helm's refusal (nil when it rendered).
func templateErr(t *testing.T, args ...string) error {
	t.Helper()
	_, err := helm(t).Template(context.Background(), args...)
	if err != nil && !errors.Is(err, chart.ErrRender) {
		t.Fatal(err)
	}
	return err
}

func one[T any](t *testing.T, objs []manifest.Object) *T {
	t.Helper()
	all := manifest.All[T](objs)
	if len(all) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(all), zero)
	}
	return all[0]
}

func deployment(t *testing.T, objs []manifest.Object) *appsv1.Deployment {
	t.Helper()
	return one[appsv1.Deployment](t, objs)
}

// bffContainer is the container named bff.
func bffContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "bff" {
			return c
		}
	}
	t.Fatal("no container named bff")
	return corev1.Container{}
}

// allContainers are the pod's init and regular containers.
func allContainers(d *appsv1.Deployment) []corev1.Container {
	return append(append([]corev1.Container(nil), d.Spec.Template.Spec.InitContainers...), d.Spec.Template.Spec.Containers...)
}

func containerPort(t *testing.T, c corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %s", c.Name, name)
	return 0
}

// configYAML is the bff.yaml of the rendering's ConfigMap that the bff container mounts.
func configYAML(t *testing.T, objs []manifest.Object) string {
	t.Helper()
	d := deployment(t, objs)
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name != "config" || v.ConfigMap == nil {
			continue
		}
		for _, cm := range manifest.All[corev1.ConfigMap](objs) {
			if cm.Name == v.ConfigMap.Name {
				return cm.Data["bff.yaml"]
			}
		}
	}
	t.Fatal("no ConfigMap mounted as the config volume")
	return ""
}

// loadConfig loads the rendered bff.yaml with the BFF's own config package, the secret
// files replaced by temporary ones holding valid values, and validates it.
func loadConfig(t *testing.T, objs []manifest.Object) config.Config {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "bff.yaml")
	write(t, file, configYAML(t, objs))
	set := map[string]string{
		"session.keysFile": write(t, filepath.Join(dir, "session-keys"), testsecret.Key(t)+"\n"),
	}
	raw, err := config.Load(config.Source{File: file})
	var ve *config.ValidationError
	if err != nil && !errors.As(err, &ve) {
		t.Fatal(err)
	}
	if raw.OIDC.ClientKeyFile != "" {
		key := testsecret.PrivateKeyPEM(t)
		set["oidc.clientKeyFile"] = write(t, filepath.Join(dir, "client-key"), key)
		if raw.OIDC.ClientCertFile != "" {
			set["oidc.clientCertFile"] = write(t, filepath.Join(dir, "client-cert"), testsecret.CertificatePEM(t, key))
		}
	} else {
		set["oidc.clientSecretFile"] = write(t, filepath.Join(dir, "client-secret"), testsecret.Hex(t))
	}
	if raw.Session.RedisURLFile != "" {
		set["session.redisURLFile"] = write(t, filepath.Join(dir, "redis-url"), "redis://:"+testsecret.Hex(t)+"@redis:6379/0")
	}
	if raw.Server.AdminTokenFile != "" {
		set["server.adminTokenFile"] = write(t, filepath.Join(dir, "admin-token"), testsecret.Hex(t)+"\n")
	}
	cfg, err := config.Load(config.Source{File: file, Set: set})
	if err == nil {
		err = config.Validate(cfg)
	}
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			t.Errorf("bff.yaml: %s", p)
		}
		t.FailNow()
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func listenPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}
