// Package compose checks compose.yaml, .env.example and deploy/keycloak/realm.json: the
// local stack of docs/deploy/compose.md.
//
// The flow of the tests: read .env.example with compose's dotenv parser; add throwaway
// secrets for the variables it leaves empty; load compose.yaml with compose-go — the
// loader of `docker compose` itself, which validates the file against the Compose schema,
// interpolates ${…} from that environment only (never a developer's .env or process
// environment) and checks that the services refer to each other consistently; then check
// the loaded project (services, ports, health checks, dependencies), hand the bff
// service's environment to the BFF's own config.Load and config.Validate, and compare
// the Keycloak realm with the BFF's settings. The raw file is checked too, before
// interpolation, for secrets written in literally.
package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"
)

// Files of the stack, relative to the repository root.
const (
	ComposeFile = "compose.yaml"
	EnvExample  = ".env.example"
	RealmFile   = "deploy/keycloak/realm.json"
)

// ProjectName is the name compose.yaml gives the stack.
const ProjectName = "tokenward"

// Load loads root's compose.yaml the way `docker compose config` does, with env as the
// only source of ${…} values. A missing required variable (${X:?msg}), a schema violation
// or an inconsistent reference (a network_mode or depends_on naming no service) is an
// error. It reads files only.
func Load(ctx context.Context, root string, env map[string]string) (*types.Project, error) {
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, ComposeFile)}},
		Environment: types.Mapping(env),
	}
	p, err := loader.LoadWithContext(ctx, details, func(o *loader.Options) {
		o.SetProjectName(ProjectName, true)
	})
	if err != nil {
		return nil, fmt.Errorf("compose: load %s: %w", ComposeFile, err)
	}
	return p, nil
}

// ReadEnvFile parses a dotenv file (.env.example) with compose's own parser, without
// expanding it against the process environment.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	defer f.Close()
	vars, err := dotenv.ParseWithLookup(f, func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("compose: parse %s: %w", path, err)
	}
	return vars, nil
}

// Variables returns the ${…} variables that the raw compose file references, by name,
// as compose's own template package finds them ($$ escapes excluded).
func Variables(composeYAML []byte) (map[string]template.Variable, error) {
	var dict map[string]any
	if err := yaml.Unmarshal(composeYAML, &dict); err != nil {
		return nil, fmt.Errorf("compose: parse: %w", err)
	}
	return template.ExtractVariables(dict, template.DefaultPattern), nil
}
