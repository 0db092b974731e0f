package compose_test

import (
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokenward/bff/deploy/check/compose"
)

// rawService is a service of compose.yaml before interpolation.
type rawService struct {
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
}

func rawServices(t *testing.T) map[string]rawService {
	t.Helper()
	var f struct {
		Services map[string]rawService `yaml:"services"`
	}
	if err := yaml.Unmarshal(readFile(t, compose.ComposeFile), &f); err != nil {
		t.Fatal(err)
	}
	return f.Services
}

// secretName matches the names of secret-bearing variables other than the BFF's (whose
// secrets docs/configuration.md marks), and the command-line flags that take a secret.
var (
	secretName = regexp.MustCompile(`(?i)(^|_)(secret|password|passwd|token|auth)(_|$)`)
	secretFlag = regexp.MustCompile(`(?i)(pass|secret|token)`)
)

// reference matches a compose variable reference and captures what follows its name:
// "" or ":?msg"/"?msg" (required), or ":-x", "-x", ":+x", "+x" (a default or alternative).
var reference = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*([^}]*)\}`)

// A secret written into compose.yaml is committed with it. Each secret-bearing value
// must come from a variable (.env), and the parts written around it must be no secret.
func TestComposeHoldsNoLiteralSecret(t *testing.T) {
	doc := configDoc(t)
	for name, svc := range rawServices(t) {
		for env, value := range svc.Environment {
			isSecret := doc[env].Secret || !strings.HasPrefix(env, "BFF_") && secretName.MatchString(env)
			if !isSecret {
				continue
			}
			if problem := literalSecret(value); problem != "" {
				t.Errorf("%s: environment %s: %s", name, env, problem)
			}
		}
		for i := 1; i < len(svc.Command); i++ {
			if !secretFlag.MatchString(svc.Command[i-1]) {
				continue
			}
			if problem := literalSecret(svc.Command[i]); problem != "" {
				t.Errorf("%s: command argument after %s: %s", name, svc.Command[i-1], problem)
			}
		}
	}
}

func TestLiteralSecret(t *testing.T) {
	tests := []struct {
		name      string
		value     string
		wantFound bool
	}{
		{name: "a required reference", value: "${BFF_OIDC_CLIENT_SECRET:?set it}"},
		{name: "a plain reference", value: "${BFF_OIDC_CLIENT_SECRET}"},
		{name: "a URL whose password is a reference", value: "redis://:${REDIS_PASSWORD}@redis:6379/0"},
		{name: "a literal", value: "s3cr3t", wantFound: true},
		{name: "a reference with a default", value: "${X:-s3cr3t}", wantFound: true},
		{name: "a reference with an unset-only default", value: "${X-s3cr3t}", wantFound: true},
		{name: "a reference with an alternative", value: "${X:+s3cr3t}", wantFound: true},
		{name: "a URL with a literal password", value: "redis://:hunter2@redis:6379/0", wantFound: true},
		{name: "a reference next to a literal", value: "abc${X}", wantFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := literalSecret(tt.value) != ""; got != tt.wantFound {
				t.Fatalf("literalSecret(%q) found = %v, want %v", tt.value, got, tt.wantFound)
			}
		})
	}
}

// literalSecret says what is wrong with a raw secret-bearing value, or "". The value must
// be one reference without a default, or a URL whose only secret part (the password) is
// such a reference.
func literalSecret(value string) string {
	refs := reference.FindAllStringSubmatch(value, -1)
	if len(refs) == 0 {
		return "written literally: take it from a variable (${NAME:?…}) set in .env"
	}
	for _, r := range refs {
		if op := r[1]; op != "" && !strings.HasPrefix(op, "?") && !strings.HasPrefix(op, ":?") {
			return "a reference with a default or alternative value: that value would be committed"
		}
	}
	if len(refs) == 1 && refs[0][0] == value {
		return ""
	}
	u, err := url.Parse(reference.ReplaceAllString(value, "REF"))
	if err != nil || u.Scheme == "" || u.User == nil {
		return "text around the reference: only a URL whose password is a reference is allowed"
	}
	if pw, _ := u.User.Password(); pw != "REF" {
		return "a URL whose password is not a reference"
	}
	return ""
}

// .env.example is committed: it must ship no secret, and must document every variable
// compose.yaml reads, so `cp .env.example .env` plus its instructions is all it takes.
func TestEnvExampleDocumentsEveryVariableAndShipsNoSecret(t *testing.T) {
	example, err := compose.ReadEnvFile(filepath.Join(root(t), compose.EnvExample))
	if err != nil {
		t.Fatal(err)
	}
	vars, err := compose.Variables(readFile(t, compose.ComposeFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if _, ok := example[name]; !ok {
			t.Errorf("compose.yaml reads ${%s}, which .env.example does not document", name)
		}
	}
	for _, name := range secretVars {
		v, ok := vars[name]
		if !ok {
			t.Errorf("%s is listed as a secret but compose.yaml does not read it", name)
			continue
		}
		if !v.Required || v.DefaultValue != "" {
			t.Errorf("${%s} must be required (${%s:?…}) without a default", name, name)
		}
		if example[name] != "" {
			t.Errorf(".env.example ships a value for the secret %s: leave it empty", name)
		}
	}
}
