package compose_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tokenward/bff/deploy/check/internal/testsecret"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/tokenward/bff/deploy/check/compose"
	"github.com/tokenward/bff/deploy/check/internal/configdoc"
	"github.com/tokenward/bff/deploy/check/internal/repo"
)

// secretVars are the variables of .env.example that hold secrets: .env.example leaves
// them empty and compose.yaml requires them (${X:?…}).
var secretVars = []string{
	"BFF_OIDC_CLIENT_SECRET",
	"BFF_SESSION_KEYS",
	"REDIS_PASSWORD",
	"KC_BOOTSTRAP_ADMIN_PASSWORD",
	"DEMO_USER_PASSWORD",
}

func root(t *testing.T) string {
	t.Helper()
	r, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// testEnv is .env.example with a fresh random value for every secret it leaves empty:
// what a user's .env holds after following .env.example's instructions.
func testEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := compose.ReadEnvFile(filepath.Join(root(t), compose.EnvExample))
	if err != nil {
		t.Fatal(err)
	}
	env = maps.Clone(env)
	for _, v := range secretVars {
		env[v] = testsecret.Hex(t)
	}
	env["BFF_SESSION_KEYS"] = testsecret.Key(t) + "," + testsecret.Key(t)
	return env
}

func load(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	p, err := compose.Load(context.Background(), root(t), env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	svc, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return svc
}

// envOf is a service's environment after interpolation; a variable without a value
// (`- NAME`) maps to "".
func envOf(svc types.ServiceConfig) map[string]string {
	out := make(map[string]string, len(svc.Environment))
	for k, v := range svc.Environment {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}

// envList is env in os.Environ form, sorted, for config.Load.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func configDoc(t *testing.T) map[string]configdoc.Entry {
	t.Helper()
	entries, err := configdoc.Parse(readFile(t, "docs/configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	return configdoc.EnvIndex(entries)
}
