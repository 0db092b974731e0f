package image_test

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/deploy/check/image"
	"github.com/tokenward/bff/deploy/check/internal/repo"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func dockerfile(t *testing.T) image.Dockerfile {
	t.Helper()
	df, err := image.ParseDockerfile(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return df
}

// commands returns the commands of s that are a *T, in order.
func commands[T any](s instructions.Stage) []*T {
	var out []*T
	for _, c := range s.Commands {
		if v, ok := any(c).(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestDockerfileParsesWithoutWarnings(t *testing.T) {
	df := dockerfile(t)
	for _, w := range df.Warnings {
		t.Errorf("warning: %s", w)
	}
	if len(df.Stages) != 2 {
		t.Fatalf("%d stages, want 2 (build, then the runtime image)", len(df.Stages))
	}
}

func TestDockerfileBuildsAStaticTrimmedBinary(t *testing.T) {
	df := dockerfile(t)
	build := df.Stages[0]
	goVersion, _ := df.MetaArg("GO_VERSION")
	if base := strings.ReplaceAll(build.BaseName, "${GO_VERSION}", goVersion); base != "golang:1.26" {
		t.Errorf("build stage FROM %s (GO_VERSION=%s), want golang:1.26", build.BaseName, goVersion)
	}
	var goBuild string
	for _, r := range commands[instructions.RunCommand](build) {
		if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
			goBuild = line
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w `, "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-o /out/bff", "./cmd/bff"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build step %q lacks %s", goBuild, want)
		}
	}
	// Without the stage's ARG, ${VERSION} would expand to nothing: `bff version` unstamped.
	var args []string
	for _, a := range commands[instructions.ArgCommand](build) {
		for _, kv := range a.Args {
			args = append(args, kv.Key)
		}
	}
	for _, want := range []string{"VERSION", "COMMIT"} {
		if !slices.Contains(args, want) {
			t.Errorf("the build stage declares ARG %v, lacks %s (the version stamp)", args, want)
		}
	}
}

func TestDockerfileRuntimeImage(t *testing.T) {
	df := dockerfile(t)
	final := df.Stages[len(df.Stages)-1]
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{name: "distroless static, nonroot variant", check: func(t *testing.T) {
			if final.BaseName != "gcr.io/distroless/static-debian12:nonroot" {
				t.Fatalf("FROM %s", final.BaseName)
			}
		}},
		{name: "no RUN: the image has no shell to run one", check: func(t *testing.T) {
			if runs := commands[instructions.RunCommand](final); len(runs) > 0 {
				t.Fatalf("%d RUN instructions in the final stage", len(runs))
			}
		}},
		{name: "no HEALTHCHECK: it could not run and would mark the container unhealthy", check: func(t *testing.T) {
			if hc := commands[instructions.HealthCheckCommand](final); len(hc) > 0 {
				t.Fatal("HEALTHCHECK in the final stage")
			}
		}},
		{name: "a numeric non-root user, so runAsNonRoot can be verified", check: func(t *testing.T) {
			users := commands[instructions.UserCommand](final)
			if len(users) == 0 {
				t.Fatal("no USER")
			}
			uid, _, _ := strings.Cut(users[len(users)-1].User, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Fatalf("USER %s: want a numeric uid other than 0", users[len(users)-1].User)
			}
		}},
		{name: "exposes the BFF's default listeners", check: func(t *testing.T) {
			var ports []string
			for _, e := range commands[instructions.ExposeCommand](final) {
				ports = append(ports, e.Ports...)
			}
			d := config.Defaults().Server
			for _, listen := range []string{d.Listen, d.AdminListen} {
				_, port, _ := net.SplitHostPort(listen)
				if !slices.Contains(ports, port) {
					t.Errorf("EXPOSE %v lacks %s (%s)", ports, port, listen)
				}
			}
		}},
		{name: "runs the binary copied from the build stage, in exec form", check: func(t *testing.T) {
			eps := commands[instructions.EntrypointCommand](final)
			if len(eps) != 1 || eps[0].PrependShell || len(eps[0].CmdLine) != 1 {
				t.Fatalf("ENTRYPOINT %+v: want one exec-form entry (no shell in the image)", eps)
			}
			copied := false
			for _, c := range commands[instructions.CopyCommand](final) {
				if c.From == df.Stages[0].Name && slices.Contains(c.SourcePaths, "/out/bff") && c.DestPath == eps[0].CmdLine[0] {
					copied = true
				}
			}
			if !copied {
				t.Fatalf("ENTRYPOINT %s is not the binary copied from the build stage", eps[0].CmdLine[0])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// The build context must hold every file `go build ./cmd/bff` reads — its Go files and
// embedded files, on every platform the image is built for — and go.mod/go.sum.
func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	ctx := dockerignore(t)
	needed := []string{"go.mod", "go.sum"}
	for _, platform := range []string{"linux/amd64", "linux/arm64"} {
		needed = append(needed, buildInputs(t, platform)...)
	}
	if len(needed) < 20 {
		t.Fatalf("go list found only %d inputs: %v", len(needed), needed)
	}
	for _, rel := range needed {
		ok, err := ctx.Includes(rel)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s is needed by the build but .dockerignore leaves it out", rel)
		}
	}
}

// A secret in the build context reaches the daemon and, through COPY . ., a layer of
// the build stage (cached, and pushed if someone pushes that stage).
func TestDockerignoreKeepsSecretsOutOfTheBuildContext(t *testing.T) {
	ctx := dockerignore(t)
	for _, rel := range []string{
		".env",
		".env.local",
		".git/config",
		"bff.yaml",
		"session.key",
		"secrets/client-secret",
		"charts/bff/values.yaml",
		"deploy/keycloak/realm.json",
		"bff",
		"dist/index.html",
		"cmd/bff/main_test.go",
		"deploy/check/go.mod",
	} {
		t.Run(rel, func(t *testing.T) {
			ok, err := ctx.Includes(rel)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				t.Fatalf("%s would be sent with the build context", rel)
			}
		})
	}
}

func dockerignore(t *testing.T) image.Context {
	t.Helper()
	ctx, err := image.ReadDockerignore(filepath.Join(root(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// buildInputs lists, relative to the repository root, the files of the main module that
// building ./cmd/bff for platform reads: Go files and embedded files of every package.
func buildInputs(t *testing.T, platform string) []string {
	t.Helper()
	r := root(t)
	goos, goarch, _ := strings.Cut(platform, "/")
	cmd := exec.Command("go", "list", "-deps",
		"-f", `{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}`,
		"./cmd/bff")
	cmd.Dir = r
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	var files []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rel, err := filepath.Rel(r, sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}
